//! Who is best, and how sure that is: each option's probability of being best and its rank
//! interval, and the [`Verdict`].
//!
//! An option's total is the weighted average of its cells, the weights normalised over the
//! cells that hold a score (as the ranking does: an abstention leaves numerator and
//! denominator). Its variance is `Σ_c w̃_c²·se_c²`, the cells being independent given their
//! values. Different options share no cell, so the totals are independent normals.
//!
//! **Seeded Monte Carlo.** Each of `draws` draws (4,000 by default: the standard error of a
//! probability near 0.9 is then 0.005) gives every option `total + g·sd·z` with `z` standard normal
//! (drawn from a table of normal quantiles), ranks the options, and counts. `g = √(ν/χ²_ν)` is
//! drawn once per draw from the degrees of freedom `ν` behind the noise estimate, which turns the
//! normals into the Student-t-like mixture a noise estimated from few replicates calls for (χ² by
//! the Wilson–Hilferty approximation). The same seed gives the same numbers, so a session's
//! confidence does not jitter between identical requests.
//!
//! - `probability_best`: the share of draws in which the option ranks first (ties at the top,
//!   possible only between exact totals, are shared).
//! - `rank_interval`: the central `interval` (90 % by default) range of its rank over the
//!   draws.
//!
//! **Verdict.** The winner is the option most likely to be best (ties: the higher total, then
//! the earlier option); `clear_winner` says its probability reaches the target; contenders
//! are the options whose probability of being best is material.

use super::normal;
use super::rng::SeededRng;
use super::summary::CellSummary;

/// How the Monte Carlo runs and what counts as clear.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WinnerSettings {
    /// Number of draws.
    pub draws: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Coverage of the rank interval (0.9: from the 5th to the 95th percentile).
    pub interval: f64,
    /// Probability of being best from which a winner is clear.
    pub target: f64,
    /// Probability of being best from which an option is a contender.
    pub materiality: f64,
    /// Whether to compute rank intervals. Counting ranks costs O(n²) per draw; loops that
    /// need only the probabilities (planning rounds) can leave it off.
    pub rank_intervals: bool,
}

impl Default for WinnerSettings {
    fn default() -> WinnerSettings {
        WinnerSettings {
            draws: 4_000,
            seed: 0,
            interval: 0.9,
            target: 0.9,
            materiality: 0.05,
            rank_intervals: true,
        }
    }
}

/// An option's total with the weights it was computed with.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionTotal {
    /// Weighted average of the option's cell values; `None` when no cell holds a score.
    pub total: Option<f64>,
    /// Variance of the total.
    pub variance: f64,
    /// Normalised weight of each criterion in this option's total (0 where no score).
    pub shares: Vec<f64>,
}

/// Totals of every option from row-major `cells` (`cells[o * criteria + c]`) and `weights`.
pub fn option_totals(cells: &[Option<CellSummary>], weights: &[f64]) -> Vec<OptionTotal> {
    let criteria = weights.len();
    if criteria == 0 {
        return Vec::new();
    }
    cells
        .chunks(criteria)
        .map(|row| {
            let weight: f64 = row
                .iter()
                .zip(weights)
                .filter(|(cell, _)| cell.is_some())
                .map(|(_, w)| w)
                .sum();
            let shares: Vec<f64> = row
                .iter()
                .zip(weights)
                .map(|(cell, w)| {
                    if cell.is_some() && weight > 0.0 {
                        w / weight
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut total = 0.0;
            let mut variance = 0.0;
            for (cell, share) in row.iter().zip(&shares) {
                if let Some(cell) = cell {
                    total += share * cell.value;
                    variance += share * share * cell.standard_error.powi(2);
                }
            }
            OptionTotal {
                total: (weight > 0.0).then_some(total),
                variance,
                shares,
            }
        })
        .collect()
}

/// One option's standing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// Index of the option.
    pub option: usize,
    /// Its total; `None` when it has no score (it then ranks below every scored option, as
    /// a total of 0 would).
    pub total: Option<f64>,
    /// Standard error of the total.
    pub standard_error: f64,
    /// Probability of being best.
    pub probability_best: f64,
    /// Rank interval (1 = best), both ends included; `None` when not computed.
    pub rank_interval: Option<(u32, u32)>,
}

/// The standing of every option, by Monte Carlo over `totals` with `df` degrees of freedom
/// behind the noise (infinite for a known noise).
pub fn standings(totals: &[OptionTotal], df: f64, settings: &WinnerSettings) -> Vec<Standing> {
    let n = totals.len();
    let means: Vec<f64> = totals.iter().map(|t| t.total.unwrap_or(0.0)).collect();
    let sds: Vec<f64> = totals.iter().map(|t| t.variance.max(0.0).sqrt()).collect();
    let draws = settings.draws.max(1);
    let mut rng = SeededRng::new(settings.seed);
    let mut best = vec![0.0f64; n];
    // rank_counts[o * n + r]: draws in which option o had r options above it.
    let ranks = settings.rank_intervals;
    let mut rank_counts = vec![0u32; if ranks { n * n } else { 0 }];
    let mut value = vec![0.0f64; n];
    // Plain index loops: this is the innermost loop of every assessment, and it runs in
    // unoptimised test builds too.
    for _ in 0..draws {
        let g = scale(&mut rng, df);
        let mut top = f64::NEG_INFINITY;
        for o in 0..n {
            let v = if sds[o] > 0.0 {
                means[o] + g * sds[o] * normal::draw(&mut rng)
            } else {
                means[o]
            };
            value[o] = v;
            if v > top {
                top = v;
            }
        }
        let mut tied = 0u32;
        for &v in &value {
            if v == top {
                tied += 1;
            }
        }
        let share = 1.0 / f64::from(tied);
        for o in 0..n {
            if value[o] == top {
                best[o] += share;
            }
        }
        if ranks {
            for o in 0..n {
                let v = value[o];
                let mut above = 0;
                for &w in &value {
                    if w > v {
                        above += 1;
                    }
                }
                rank_counts[o * n + above] += 1;
            }
        }
    }
    let low = (1.0 - settings.interval) / 2.0 * draws as f64;
    let high = (1.0 + settings.interval) / 2.0 * draws as f64;
    (0..n)
        .map(|o| Standing {
            option: o,
            total: totals[o].total,
            standard_error: sds[o],
            probability_best: best[o] / draws as f64,
            rank_interval: ranks.then(|| {
                let counts = &rank_counts[o * n..(o + 1) * n];
                (rank_at(counts, low), rank_at(counts, high))
            }),
        })
        .collect()
}

/// The smallest rank whose cumulative count exceeds `level` (a count of draws).
fn rank_at(counts: &[u32], level: f64) -> u32 {
    let mut cumulative = 0.0;
    for (r, &c) in counts.iter().enumerate() {
        cumulative += f64::from(c);
        if cumulative > level {
            return u32::try_from(r + 1).unwrap_or(u32::MAX);
        }
    }
    u32::try_from(counts.len()).unwrap_or(u32::MAX)
}

/// `√(ν/χ²_ν)` for one draw; 1 when the noise is known (ν infinite or huge).
fn scale(rng: &mut SeededRng, df: f64) -> f64 {
    if !(df.is_finite() && df < 1e6) || df <= 0.0 {
        return 1.0;
    }
    // Wilson–Hilferty: (χ²_ν/ν)^(1/3) is nearly normal with mean 1 − 2/(9ν) and variance
    // 2/(9ν). The cube root is floored so a far-left draw cannot blow the scale up.
    let a = 2.0 / (9.0 * df);
    let root = (1.0 - a + normal::draw(rng) * a.sqrt()).max(0.2);
    1.0 / root.powf(1.5)
}

/// A contender for first place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contender {
    /// Index of the option.
    pub option: usize,
    /// Its total.
    pub total: Option<f64>,
    /// Its probability of being best.
    pub probability_best: f64,
}

/// The recommendation with its confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The option most likely to be best; `None` when no option has a score.
    pub winner: Option<usize>,
    /// Its probability of being best.
    pub winner_probability: f64,
    /// Whether that probability reaches the target.
    pub clear_winner: bool,
    /// Options whose probability of being best is material, most likely first (the winner
    /// always among them).
    pub contenders: Vec<Contender>,
}

impl Verdict {
    /// The verdict on `standings`.
    pub fn of(standings: &[Standing], settings: &WinnerSettings) -> Verdict {
        let winner = standings
            .iter()
            .filter(|s| s.total.is_some())
            .max_by(|a, b| {
                a.probability_best
                    .total_cmp(&b.probability_best)
                    .then(a.total.unwrap_or(0.0).total_cmp(&b.total.unwrap_or(0.0)))
                    .then(b.option.cmp(&a.option))
            });
        let Some(winner) = winner else {
            return Verdict {
                winner: None,
                winner_probability: 0.0,
                clear_winner: false,
                contenders: Vec::new(),
            };
        };
        let mut contenders: Vec<Contender> = standings
            .iter()
            .filter(|s| {
                s.option == winner.option
                    || (s.total.is_some() && s.probability_best >= settings.materiality)
            })
            .map(|s| Contender {
                option: s.option,
                total: s.total,
                probability_best: s.probability_best,
            })
            .collect();
        contenders.sort_by(|a, b| {
            b.probability_best
                .total_cmp(&a.probability_best)
                .then(a.option.cmp(&b.option))
        });
        Verdict {
            winner: Some(winner.option),
            winner_probability: winner.probability_best,
            clear_winner: winner.probability_best >= settings.target,
            contenders,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: f64, se: f64) -> Option<CellSummary> {
        Some(CellSummary {
            value,
            standard_error: se,
            count: 1,
            judges: 1,
            spread: 0.0,
            exact: se == 0.0,
            effective_counts: vec![1.0],
        })
    }

    fn total(mean: f64, sd: f64) -> OptionTotal {
        OptionTotal {
            total: Some(mean),
            variance: sd * sd,
            shares: vec![1.0],
        }
    }

    #[test]
    fn totals_normalise_weights_over_scored_cells() {
        // Weights 1 and 3. Option 0: 8 (se 1) and 4 (se 2): total 5, variance
        // (1/4)²·1 + (3/4)²·4 = 2.3125. Option 1 abstained on the second: total 6.
        let cells = vec![cell(8.0, 1.0), cell(4.0, 2.0), cell(6.0, 1.0), None];
        let t = option_totals(&cells, &[1.0, 3.0]);
        assert_eq!(t[0].total, Some(5.0));
        assert!((t[0].variance - 2.3125).abs() < 1e-12);
        assert_eq!(t[0].shares, vec![0.25, 0.75]);
        assert_eq!(t[1].total, Some(6.0));
        assert_eq!(t[1].shares, vec![1.0, 0.0]);
        let none = option_totals(&[None, None], &[1.0, 1.0]);
        assert_eq!(none[0].total, None);
    }

    #[test]
    fn two_options_match_the_normal_probability() {
        // A − B ~ N(0.5, 1² + 1²): P(A best) = Φ(0.5/√2) = 0.638.
        let totals = [total(7.5, 1.0), total(7.0, 1.0)];
        let s = standings(&totals, f64::INFINITY, &WinnerSettings::default());
        let expected = normal::cdf(0.5 / 2f64.sqrt());
        assert!(
            (s[0].probability_best - expected).abs() < 0.02,
            "{} vs {expected}",
            s[0].probability_best
        );
        assert!((s[0].probability_best + s[1].probability_best - 1.0).abs() < 1e-9);
        assert_eq!(s[0].rank_interval, Some((1, 2)));
    }

    #[test]
    fn exact_totals_are_certain_and_exact_ties_share() {
        let totals = [total(6.0, 0.0), total(8.0, 0.0), total(8.0, 0.0)];
        let s = standings(&totals, 3.0, &WinnerSettings::default());
        assert_eq!(s[0].probability_best, 0.0);
        assert!((s[1].probability_best - 0.5).abs() < 1e-12);
        assert_eq!(s[0].rank_interval, Some((3, 3)));
        assert_eq!(s[1].rank_interval, Some((1, 1)));
        let v = Verdict::of(&s, &WinnerSettings::default());
        assert_eq!(v.winner, Some(1));
        assert!(!v.clear_winner);
        assert_eq!(
            v.contenders.iter().map(|c| c.option).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn few_degrees_of_freedom_widen_the_draws() {
        let totals = [total(7.0, 0.4), total(6.0, 0.4)];
        let known = standings(&totals, f64::INFINITY, &WinnerSettings::default());
        let guessed = standings(&totals, 3.0, &WinnerSettings::default());
        assert!(guessed[0].probability_best < known[0].probability_best);
        // Φ(1/(0.4·√2)) = 0.961 with a known noise.
        assert!((known[0].probability_best - 0.961).abs() < 0.01);
    }

    #[test]
    fn rank_intervals_can_be_left_out() {
        let totals = [total(7.5, 1.0), total(7.0, 1.0)];
        let quick = WinnerSettings {
            rank_intervals: false,
            ..WinnerSettings::default()
        };
        let full = standings(&totals, 8.0, &WinnerSettings::default());
        let fast = standings(&totals, 8.0, &quick);
        assert_eq!(fast[0].rank_interval, None);
        // The same draws: the same probabilities.
        assert_eq!(fast[0].probability_best, full[0].probability_best);
    }

    #[test]
    fn deterministic_for_a_seed() {
        let totals = [total(7.0, 1.0), total(6.5, 0.5), total(6.0, 2.0)];
        let settings = WinnerSettings {
            seed: 42,
            ..WinnerSettings::default()
        };
        assert_eq!(
            standings(&totals, 10.0, &settings),
            standings(&totals, 10.0, &settings)
        );
        let other = WinnerSettings {
            seed: 43,
            ..settings
        };
        assert_ne!(
            standings(&totals, 10.0, &settings),
            standings(&totals, 10.0, &other)
        );
    }

    #[test]
    fn verdict_is_clear_from_the_target_and_lists_material_contenders() {
        let totals = [total(9.0, 0.3), total(6.0, 0.3), total(8.6, 0.3)];
        let s = standings(&totals, f64::INFINITY, &WinnerSettings::default());
        let v = Verdict::of(&s, &WinnerSettings::default());
        assert_eq!(v.winner, Some(0));
        // Φ(0.4/(0.3·√2)) = 0.83: not clear at 0.9, and option 2 is a contender.
        assert!(!v.clear_winner);
        assert!((v.winner_probability - 0.83).abs() < 0.02);
        assert_eq!(
            v.contenders.iter().map(|c| c.option).collect::<Vec<_>>(),
            vec![0, 2]
        );
        let lenient = WinnerSettings {
            target: 0.8,
            ..WinnerSettings::default()
        };
        assert!(Verdict::of(&s, &lenient).clear_winner);
    }

    #[test]
    fn no_scores_no_winner() {
        let totals = option_totals(&[None, None], &[1.0]);
        let s = standings(&totals, f64::INFINITY, &WinnerSettings::default());
        assert_eq!(Verdict::of(&s, &WinnerSettings::default()).winner, None);
    }
}
