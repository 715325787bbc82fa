//! Rank acceptability under uncertain weights and uncertain scores (SMAA-2: Lahdelma and
//! Salminen, "SMAA-2: Stochastic multicriteria acceptability analysis for group decision
//! making", 2001).
//!
//! [`winner`](super::winner) answers "how sure is the ranking, given these weights?"; the
//! weights themselves are taken as exact. A person rarely knows them that well: "cost matters
//! about twice as much as speed" is a range, not a number. [`rank_acceptability`] answers the
//! wider question: **which options could win, or take any other place, if the weights were
//! anywhere in these ranges and the scores as uncertain as measured?** For each option and
//! each rank it gives the share of the weight-and-score space in which the option takes that
//! rank. An option whose first-rank share is near 1 wins whatever the weights within the
//! ranges; one whose first-rank share is 0 cannot win on any of them; a share spread over
//! several options says the choice rests on the weights, and a person should settle them.
//!
//! **Seeded Monte Carlo.** Each of `draws` draws (4,000 by default: a share's standard error
//! is then at most 0.008)
//!
//! 1. draws every criterion's weight uniformly and independently in its [`WeightRange`] (a
//!    fixed weight, `low == high`, stays put);
//! 2. draws every cell that is neither exact nor of standard error 0 from
//!    `Normal(value, standard_error)`, unclamped, with the same table of normal quantiles as
//!    [`winner`](super::winner); exact cells keep their value;
//! 3. computes each option's total as the ranking does
//!    ([`weighted_average_totals`](crate::domain::ranking::weighted_average_totals)): the
//!    weighted average over the criteria the option holds a score on, a missing cell leaving
//!    numerator and denominator alike;
//! 4. orders the options by total and counts each option's rank.
//!
//! **Ties** (exactly equal totals, which happen only between options whose drawn cells are
//! equal, in practice exact ones) split their ranks evenly: two options tied for first each
//! take half of rank 1 and half of rank 2. The alternative, the ranking's insertion order,
//! would hand every tie to whichever option was added first, a bias the order of entry does
//! not justify; splitting keeps the result independent of the order of the options and each
//! rank's shares still sum to 1. It also agrees with `probability_best`, which shares ties
//! at the top the same way.
//!
//! **Options without any score** have no total. The ranking gives them 0, below every scored
//! option; here they are left out of the ranking altogether: their rows are all zero,
//! [`Acceptability::scored`] says so, and the scored options share the first ranks among
//! themselves.
//!
//! **Central weights.** For each option, the mean of the drawn weights (each draw's weights
//! scaled to sum to 1) over the draws in which it ranked first: the typical weights that make
//! it the winner, SMAA-2's central weight vector. They tell a person which view of the
//! criteria an option's case rests on.
//!
//! The same seed always gives the same numbers. The draws reuse their buffers: nothing is
//! allocated inside the loop.

use thiserror::Error;

use super::normal;
use super::rng::SeededRng;
use super::summary::CellSummary;

/// A criterion weight known only to lie between `low` and `high`, both included; a fixed
/// weight has `low == high`. Weights need `0 < low ≤ high`, both finite: a weight of 0 could
/// leave an option scored only on that criterion with no total at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightRange {
    /// Smallest weight the criterion may have.
    pub low: f64,
    /// Largest weight the criterion may have.
    pub high: f64,
}

impl WeightRange {
    /// A weight known exactly.
    pub fn fixed(weight: f64) -> WeightRange {
        WeightRange {
            low: weight,
            high: weight,
        }
    }

    /// Whether `0 < low ≤ high` with both finite.
    fn is_valid(self) -> bool {
        self.low.is_finite() && self.high.is_finite() && self.low > 0.0 && self.low <= self.high
    }
}

/// How the Monte Carlo of [`rank_acceptability`] runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcceptabilitySettings {
    /// Number of draws; at least 1.
    pub draws: usize,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for AcceptabilitySettings {
    fn default() -> AcceptabilitySettings {
        AcceptabilitySettings {
            draws: 4_000,
            seed: 0,
        }
    }
}

/// Each option's share of every rank, and the weights that make it first.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptability {
    /// `shares[o][r]`: the share of draws in which option `o` took rank `r` (0 = first). Each
    /// row of a scored option sums to 1; the row of an option without any score is all zero.
    /// Ranks from the number of scored options on are never taken.
    pub shares: Vec<Vec<f64>>,
    /// Whether the option holds at least one score (and so takes part in the ranking).
    pub scored: Vec<bool>,
    /// Per option, the mean of the drawn weights, each draw's scaled to sum to 1, over the
    /// draws in which the option ranked first (a tie for first counting by its share);
    /// `None` for an option that never ranked first.
    pub central_weights: Vec<Option<Vec<f64>>>,
}

impl Acceptability {
    /// The share of draws in which option `o` ranked first; 0 for an unknown option.
    pub fn first(&self, o: usize) -> f64 {
        self.shares
            .get(o)
            .and_then(|row| row.first())
            .copied()
            .unwrap_or(0.0)
    }
}

/// Bad input to [`rank_acceptability`], saying what was wrong and what is allowed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AcceptabilityError {
    /// No criterion.
    #[error("a decision needs at least one criterion; got 0")]
    NoCriteria,
    /// Not one weight range per criterion.
    #[error(
        "{ranges} weight ranges were given for {criteria} criteria; give exactly one per criterion"
    )]
    Ranges {
        /// Ranges given.
        ranges: usize,
        /// Number of criteria.
        criteria: usize,
    },
    /// A weight range that is empty, not finite or reaches 0.
    #[error(
        "criterion {criterion} has weight range {low} to {high}; a range needs finite bounds with 0 < low <= high (low = high for a fixed weight)"
    )]
    Range {
        /// Criterion index.
        criterion: usize,
        /// Lower bound given.
        low: f64,
        /// Upper bound given.
        high: f64,
    },
    /// Cells that do not fill whole rows of the criteria.
    #[error(
        "{cells} cells do not make options x {criteria} criteria; give one cell (or none) per option and criterion, option by option"
    )]
    Cells {
        /// Cells given.
        cells: usize,
        /// Number of criteria.
        criteria: usize,
    },
    /// A cell whose value or standard error is not a number that can be drawn from.
    #[error(
        "the cell of option {option} on criterion {criterion} has value {value} and standard error {standard_error}; the value must be finite and the standard error finite and at least 0"
    )]
    Cell {
        /// Option index.
        option: usize,
        /// Criterion index.
        criterion: usize,
        /// Value given.
        value: f64,
        /// Standard error given.
        standard_error: f64,
    },
    /// No draw to count.
    #[error("the Monte Carlo needs at least 1 draw; got 0")]
    NoDraws,
}

/// Each option's rank acceptability: the share of draws in which it takes each rank when
/// every criterion's weight is drawn from its range in `ranges` and every uncertain cell from
/// its normal (see the [module](self) documentation).
///
/// `cells` are option-major, `cells[o * criteria + c]`, as for
/// [`option_totals`](super::winner::option_totals); `None` is a cell without a score. The
/// number of options is `cells.len() / criteria`.
pub fn rank_acceptability(
    cells: &[Option<CellSummary>],
    criteria: usize,
    ranges: &[WeightRange],
    settings: &AcceptabilitySettings,
) -> Result<Acceptability, AcceptabilityError> {
    if criteria == 0 {
        return Err(AcceptabilityError::NoCriteria);
    }
    if ranges.len() != criteria {
        return Err(AcceptabilityError::Ranges {
            ranges: ranges.len(),
            criteria,
        });
    }
    if let Some((criterion, range)) = ranges.iter().enumerate().find(|(_, r)| !r.is_valid()) {
        return Err(AcceptabilityError::Range {
            criterion,
            low: range.low,
            high: range.high,
        });
    }
    if !cells.len().is_multiple_of(criteria) {
        return Err(AcceptabilityError::Cells {
            cells: cells.len(),
            criteria,
        });
    }
    if settings.draws == 0 {
        return Err(AcceptabilityError::NoDraws);
    }
    let n = cells.len() / criteria;

    // The cells as plain arrays for the inner loop: a value, a standard error (0 when the
    // value is not drawn) and whether the cell holds a score.
    let mut present = vec![false; cells.len()];
    let mut means = vec![0.0f64; cells.len()];
    let mut sds = vec![0.0f64; cells.len()];
    for (i, cell) in cells.iter().enumerate() {
        let Some(cell) = cell else { continue };
        let se = cell.standard_error;
        if !cell.value.is_finite() || !se.is_finite() || se < 0.0 {
            return Err(AcceptabilityError::Cell {
                option: i / criteria,
                criterion: i % criteria,
                value: cell.value,
                standard_error: se,
            });
        }
        present[i] = true;
        means[i] = cell.value;
        sds[i] = if cell.exact { 0.0 } else { se };
    }
    let scored: Vec<bool> = present
        .chunks(criteria)
        .map(|row| row.iter().any(|&p| p))
        .collect();

    // Reused buffers: the drawn weights, each scored option's total, and the scored options
    // in the order of the current draw.
    let mut weights = vec![0.0f64; criteria];
    let mut totals = vec![0.0f64; n];
    let mut order: Vec<usize> = (0..n).filter(|&o| scored[o]).collect();
    let m = order.len();
    // counts[o * n + r]: draws (fractional for ties) in which option o took rank r.
    let mut counts = vec![0.0f64; n * n];
    // central[o * criteria + c]: sum over o's first places of the share-weighted, normalised
    // weight of c; first[o] the sum of those shares.
    let mut central = vec![0.0f64; n * criteria];
    let mut first = vec![0.0f64; n];

    let mut rng = SeededRng::new(settings.seed);
    // Plain loops without closures, as in `winner`: this runs in unoptimised test builds too.
    for _ in 0..settings.draws {
        let mut weight_sum = 0.0;
        for (w, &WeightRange { low, high }) in weights.iter_mut().zip(ranges) {
            *w = if high > low {
                rng.uniform(low, high)
            } else {
                low
            };
            weight_sum += *w;
        }
        for &o in &order {
            let row = o * criteria;
            let mut sum = 0.0;
            let mut weight = 0.0;
            for (c, &w) in weights.iter().enumerate() {
                let i = row + c;
                if !present[i] {
                    continue;
                }
                let value = if sds[i] > 0.0 {
                    means[i] + sds[i] * normal::draw(&mut rng)
                } else {
                    means[i]
                };
                sum += value * w;
                weight += w;
            }
            // A scored option has a cell with a positive weight, so `weight > 0`.
            totals[o] = sum / weight;
        }
        // Unstable sort allocates nothing; ties are grouped below whatever their order.
        order.sort_unstable_by(|&a, &b| totals[b].total_cmp(&totals[a]));
        let mut start = 0;
        while start < m {
            let top = totals[order[start]];
            let mut end = start + 1;
            while end < m && totals[order[end]] == top {
                end += 1;
            }
            let share = 1.0 / (end - start) as f64;
            for &o in &order[start..end] {
                for r in start..end {
                    counts[o * n + r] += share;
                }
                if start == 0 {
                    first[o] += share;
                    let scale = share / weight_sum;
                    let row = &mut central[o * criteria..(o + 1) * criteria];
                    for (sum, &w) in row.iter_mut().zip(&weights) {
                        *sum += scale * w;
                    }
                }
            }
            start = end;
        }
    }

    let draws = settings.draws as f64;
    let shares = (0..n)
        .map(|o| {
            counts[o * n..(o + 1) * n]
                .iter()
                .map(|&c| c / draws)
                .collect()
        })
        .collect();
    let central_weights = (0..n)
        .map(|o| {
            (first[o] > 0.0).then(|| {
                central[o * criteria..(o + 1) * criteria]
                    .iter()
                    .map(|&w| w / first[o])
                    .collect()
            })
        })
        .collect();
    Ok(Acceptability {
        shares,
        scored,
        central_weights,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::ScoreMatrix;
    use crate::domain::ranking::{rank, weighted_average_totals};

    fn exact(value: f64) -> Option<CellSummary> {
        Some(CellSummary {
            value,
            standard_error: 0.0,
            count: 1,
            judges: 0,
            spread: 0.0,
            exact: true,
            effective_counts: Vec::new(),
        })
    }

    fn uncertain(value: f64, se: f64) -> Option<CellSummary> {
        Some(CellSummary {
            value,
            standard_error: se,
            count: 1,
            judges: 1,
            spread: 0.0,
            exact: false,
            effective_counts: vec![1.0],
        })
    }

    fn range(low: f64, high: f64) -> WeightRange {
        WeightRange { low, high }
    }

    fn run(
        cells: &[Option<CellSummary>],
        ranges: &[WeightRange],
    ) -> Result<Acceptability, AcceptabilityError> {
        rank_acceptability(
            cells,
            ranges.len(),
            ranges,
            &AcceptabilitySettings::default(),
        )
    }

    #[test]
    fn fixed_weights_and_exact_scores_give_the_deterministic_ranking() {
        // Four options, three criteria, one abstention (option 2 on criterion 1).
        let values = [
            Some(7.0),
            Some(4.0),
            Some(6.0),
            Some(5.0),
            Some(9.0),
            Some(3.0),
            Some(8.0),
            None,
            Some(2.0),
            Some(3.0),
            Some(3.0),
            Some(3.0),
        ];
        let weights = [2.0, 1.0, 1.5];
        let cells: Vec<_> = values.iter().map(|v| v.and_then(exact)).collect();
        let ranges: Vec<_> = weights.iter().map(|&w| WeightRange::fixed(w)).collect();
        let a = run(&cells, &ranges).unwrap();
        let matrix = ScoreMatrix {
            weights: weights.to_vec(),
            cells: values.to_vec(),
        };
        let ranked = rank(&weighted_average_totals(&matrix));
        // The totals are distinct, so the ranking's places are the ranks.
        for (place, r) in ranked.iter().enumerate() {
            let mut one_hot = vec![0.0; 4];
            one_hot[place] = 1.0;
            assert_eq!(a.shares[r.option], one_hot, "option {}", r.option);
        }
        assert_eq!(a.scored, vec![true; 4]);
    }

    #[test]
    fn rows_sum_to_one_and_an_unscored_option_is_left_out() {
        let cells = vec![
            uncertain(7.0, 1.0),
            uncertain(5.0, 0.5),
            exact(6.0),
            None,
            None,
            None,
            uncertain(6.5, 2.0),
            uncertain(6.0, 1.0),
        ];
        let a = run(&cells, &[range(0.5, 2.0), range(1.0, 3.0)]).unwrap();
        assert_eq!(a.scored, vec![true, true, false, true]);
        assert_eq!(a.shares[2], vec![0.0; 4]);
        assert_eq!(a.central_weights[2], None);
        for o in [0, 1, 3] {
            let sum: f64 = a.shares[o].iter().sum();
            assert!((sum - 1.0).abs() < 1e-9, "option {o}: {sum}");
            // Three scored options share ranks 0 to 2; rank 3 is never taken.
            assert_eq!(a.shares[o][3], 0.0);
        }
        for r in 0..3 {
            let sum: f64 = a.shares.iter().map(|row| row[r]).sum();
            assert!((sum - 1.0).abs() < 1e-9, "rank {r}: {sum}");
        }
    }

    #[test]
    fn a_dominating_option_is_first_in_every_draw() {
        // Option 1 beats both others on every criterion: any positive weights keep it first.
        let cells = vec![
            exact(5.0),
            exact(9.0),
            exact(2.0),
            exact(6.0),
            exact(9.5),
            exact(2.5),
            exact(5.8),
            exact(6.0),
            exact(1.0),
        ];
        let a = run(
            &cells,
            &[range(0.1, 10.0), range(0.1, 10.0), range(0.1, 10.0)],
        )
        .unwrap();
        assert_eq!(a.shares[1][0], 1.0);
        assert_eq!(a.first(1), 1.0);
        // The others split the remaining ranks by the weights: option 2 is second where
        // 0.8·w0 > 3·w1 + w2.
        assert!(a.shares[0][0] == 0.0 && a.shares[2][0] == 0.0);
        assert!(a.shares[0][1] > 0.0 && a.shares[2][1] > 0.0);
    }

    #[test]
    fn a_weight_range_splits_first_place_at_the_crossover() {
        // A: 9 on cost, 3 on speed; B: 4 on cost, 8 on speed.
        let cells = vec![exact(9.0), exact(3.0), exact(4.0), exact(8.0)];

        // Cost fixed at 1, speed x in [0.5, 3]: A = (9+3x)/(1+x) and B = (4+8x)/(1+x) are
        // equal at x = 1, and A is ahead below it: P(A first) = (1 − 0.5)/(3 − 0.5) = 0.2.
        let a = run(&cells, &[WeightRange::fixed(1.0), range(0.5, 3.0)]).unwrap();
        assert!((a.first(0) - 0.2).abs() < 0.03, "{:?}", a.shares);
        assert!((a.first(1) - 0.8).abs() < 0.03, "{:?}", a.shares);
        assert!((a.shares[0][1] - 0.8).abs() < 0.03);

        // Both uncertain, cost w0 in [1, 2] and speed w1 in [1, 3]: A ahead iff
        // 9·w0 + 3·w1 > 4·w0 + 8·w1, i.e. w0 > w1: a triangle of area 1/2 in a rectangle of
        // area 2, so P(A first) = 0.25.
        let a = run(&cells, &[range(1.0, 2.0), range(1.0, 3.0)]).unwrap();
        assert!((a.first(0) - 0.25).abs() < 0.03, "{:?}", a.shares);
        assert!((a.first(1) - 0.75).abs() < 0.03, "{:?}", a.shares);
    }

    #[test]
    fn central_weights_are_the_mean_weights_of_first_places() {
        // As above with cost fixed at 1 and speed x in [0.5, 3]: A is first for x in
        // [0.5, 1), where speed's share x/(1+x) averages 1 − 2·ln(4/3) = 0.4246; B for x in
        // (1, 3], averaging 1 − ln(4/2)/2 = 0.6534.
        let cells = vec![exact(9.0), exact(3.0), exact(4.0), exact(8.0)];
        let a = run(&cells, &[WeightRange::fixed(1.0), range(0.5, 3.0)]).unwrap();
        let a_weights = a.central_weights[0].clone().unwrap();
        let b_weights = a.central_weights[1].clone().unwrap();
        let expected_a = 1.0 - 2.0 * (4.0f64 / 3.0).ln();
        let expected_b = 1.0 - 2f64.ln() / 2.0;
        assert!((a_weights[1] - expected_a).abs() < 0.01, "{a_weights:?}");
        assert!((b_weights[1] - expected_b).abs() < 0.01, "{b_weights:?}");
        assert!((a_weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        // An option that never ranks first has none.
        let dominated = vec![exact(9.0), exact(9.0), exact(1.0), exact(1.0)];
        let d = run(&dominated, &[range(1.0, 2.0), range(1.0, 2.0)]).unwrap();
        assert_eq!(d.central_weights[1], None);
    }

    #[test]
    fn score_uncertainty_alone_gives_the_normal_probability() {
        // Fixed weights, A 0.5 above B on both criteria, se 1 on each cell. With equal weights
        // each total has variance 1/2, the difference N(0.5, 1): P(A first) = Φ(0.5).
        let cells = vec![
            uncertain(7.5, 1.0),
            uncertain(7.5, 1.0),
            uncertain(7.0, 1.0),
            uncertain(7.0, 1.0),
        ];
        let a = run(&cells, &[WeightRange::fixed(1.0), WeightRange::fixed(1.0)]).unwrap();
        let expected = normal::cdf(0.5);
        assert!(
            (a.first(0) - expected).abs() < 0.03,
            "{} vs {expected}",
            a.first(0)
        );

        // One criterion, se 1 on each: the difference is N(0.5, 2), P = Φ(0.5/√2).
        let cells = vec![uncertain(7.5, 1.0), uncertain(7.0, 1.0)];
        let a = run(&cells, &[WeightRange::fixed(2.0)]).unwrap();
        let expected = normal::cdf(0.5 / 2f64.sqrt());
        assert!(
            (a.first(0) - expected).abs() < 0.03,
            "{} vs {expected}",
            a.first(0)
        );
        assert!((a.first(0) + a.first(1) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn exact_cells_are_not_drawn_even_with_a_standard_error() {
        let mut cell = uncertain(6.0, 5.0);
        if let Some(c) = cell.as_mut() {
            c.exact = true;
        }
        let a = run(&[cell, exact(5.0)], &[WeightRange::fixed(1.0)]).unwrap();
        assert_eq!(a.shares, vec![vec![1.0, 0.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn exact_ties_split_their_ranks() {
        // Options 0 and 1 have the same cells, so the same total at any weights: each takes
        // half of rank 1 and half of rank 2 in every draw, whatever their order.
        let twins = vec![
            exact(7.0),
            exact(4.0),
            exact(7.0),
            exact(4.0),
            exact(2.0),
            exact(2.0),
        ];
        let a = run(&twins, &[range(1.0, 2.0), range(1.0, 2.0)]).unwrap();
        assert_eq!(
            a.shares,
            vec![
                vec![0.5, 0.5, 0.0],
                vec![0.5, 0.5, 0.0],
                vec![0.0, 0.0, 1.0]
            ]
        );
        let central = a.central_weights[0].clone().unwrap();
        assert_eq!(Some(central), a.central_weights[1]);
    }

    #[test]
    fn the_same_seed_gives_the_same_result() {
        let cells = vec![
            uncertain(7.0, 1.0),
            uncertain(6.0, 1.0),
            uncertain(6.5, 0.5),
            uncertain(7.0, 2.0),
            uncertain(6.0, 1.5),
            exact(6.8),
        ];
        let ranges = [range(0.5, 2.0), range(1.0, 1.5)];
        let settings = AcceptabilitySettings {
            seed: 42,
            ..AcceptabilitySettings::default()
        };
        let first = rank_acceptability(&cells, 2, &ranges, &settings).unwrap();
        assert_eq!(
            first,
            rank_acceptability(&cells, 2, &ranges, &settings).unwrap()
        );
        let other = AcceptabilitySettings {
            seed: 43,
            ..settings
        };
        assert_ne!(
            first,
            rank_acceptability(&cells, 2, &ranges, &other).unwrap()
        );
    }

    #[test]
    fn bad_input_is_refused_with_what_is_allowed() {
        let cells = vec![exact(5.0), exact(6.0)];
        let settings = AcceptabilitySettings::default();
        assert_eq!(
            rank_acceptability(&[], 0, &[], &settings),
            Err(AcceptabilityError::NoCriteria)
        );
        assert_eq!(
            rank_acceptability(&cells, 2, &[range(1.0, 2.0)], &settings),
            Err(AcceptabilityError::Ranges {
                ranges: 1,
                criteria: 2
            })
        );
        for (low, high) in [
            (2.0, 1.0),
            (0.0, 1.0),
            (-1.0, 1.0),
            (0.0, 0.0),
            (f64::NAN, 1.0),
            (1.0, f64::INFINITY),
        ] {
            let result =
                rank_acceptability(&cells, 2, &[range(1.0, 1.0), range(low, high)], &settings);
            assert!(
                matches!(result, Err(AcceptabilityError::Range { criterion: 1, .. })),
                "{low}..{high}: {result:?}"
            );
        }
        let message = rank_acceptability(&cells, 1, &[range(2.0, 1.0)], &settings)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("criterion 0") && message.contains("0 < low <= high"),
            "{message}"
        );
        assert_eq!(
            rank_acceptability(&cells[..1], 2, &[range(1.0, 1.0); 2], &settings),
            Err(AcceptabilityError::Cells {
                cells: 1,
                criteria: 2
            })
        );
        let bad_cell = vec![exact(5.0), uncertain(6.0, -1.0)];
        assert!(matches!(
            rank_acceptability(&bad_cell, 1, &[range(1.0, 1.0)], &settings),
            Err(AcceptabilityError::Cell {
                option: 1,
                criterion: 0,
                ..
            })
        ));
        let no_draws = AcceptabilitySettings {
            draws: 0,
            ..settings
        };
        assert_eq!(
            rank_acceptability(&cells, 1, &[range(1.0, 1.0)], &no_draws),
            Err(AcceptabilityError::NoDraws)
        );
        // No option at all is not an error: there is nothing to rank.
        let empty = rank_acceptability(&[], 1, &[range(1.0, 1.0)], &settings).unwrap();
        assert!(empty.shares.is_empty() && empty.scored.is_empty());
    }

    fn arb_problem() -> impl Strategy<Value = (Vec<Option<CellSummary>>, Vec<WeightRange>)> {
        (1usize..6, 1usize..4).prop_flat_map(|(options, criteria)| {
            (
                proptest::collection::vec((0.1f64..5.0, 0.0f64..3.0), criteria),
                proptest::collection::vec(
                    proptest::option::weighted(0.8, (1.0f64..=10.0, 0.0f64..2.0)),
                    options * criteria,
                ),
            )
                .prop_map(|(ranges, cells)| {
                    (
                        cells
                            .into_iter()
                            .map(|c| c.and_then(|(v, se)| uncertain(v, se)))
                            .collect(),
                        ranges
                            .into_iter()
                            .map(|(low, width)| range(low, low + width))
                            .collect(),
                    )
                })
        })
    }

    proptest! {
        #[test]
        fn shares_are_distributions_over_the_scored_ranks((cells, ranges) in arb_problem()) {
            let settings = AcceptabilitySettings { draws: 200, seed: 1 };
            let a = rank_acceptability(&cells, ranges.len(), &ranges, &settings).unwrap();
            let scored = a.scored.iter().filter(|&&s| s).count();
            for (o, row) in a.shares.iter().enumerate() {
                let sum: f64 = row.iter().sum();
                if a.scored[o] {
                    prop_assert!((sum - 1.0).abs() < 1e-9);
                } else {
                    prop_assert_eq!(sum, 0.0);
                }
                prop_assert!(row[scored..].iter().all(|&s| s == 0.0));
                if let Some(weights) = &a.central_weights[o] {
                    prop_assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                }
            }
            for r in 0..scored {
                let sum: f64 = a.shares.iter().map(|row| row[r]).sum();
                prop_assert!((sum - 1.0).abs() < 1e-9);
            }
        }
    }
}
