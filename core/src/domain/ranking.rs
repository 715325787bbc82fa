//! Totals, ranking and the recommendation sentence, as the reference server computes them.
//!
//! The weighted average here is the host's own copy of the default strategy (the
//! `weighted-average` plugin computes the same numbers; a test holds the two together): the
//! closed-form sensitivity analysis needs the formula, and a ranking must be available even
//! when no plugin can run.

use super::matrix::ScoreMatrix;

/// One option's place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// Index of the option in the session's order.
    pub option: usize,
    /// The option's total.
    pub total: f64,
    /// 1-based; equal totals share the better rank ("1, 2, 2, 4").
    pub rank: u32,
}

/// Per option, `Σ score·weight / Σ weight` over the cells that hold a score; 0 for an option
/// with none. On the 1–10 scale.
pub fn weighted_average_totals(matrix: &ScoreMatrix) -> Vec<f64> {
    (0..matrix.options())
        .map(|o| {
            let (sum, weight) = (0..matrix.criteria())
                .filter_map(|c| matrix.cell(o, c).map(|s| (s, matrix.weights[c])))
                .fold((0.0, 0.0), |(sum, total), (s, w)| (sum + s * w, total + w));
            if weight > 0.0 { sum / weight } else { 0.0 }
        })
        .collect()
}

/// Orders options by descending total. The sort is stable, so equal totals keep the order in
/// which the options were added (the reference server's only tie-break).
pub fn rank(totals: &[f64]) -> Vec<Ranked> {
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]));
    let mut ranked: Vec<Ranked> = Vec::with_capacity(order.len());
    for (position, &option) in order.iter().enumerate() {
        let total = totals[option];
        let rank = match ranked.last() {
            Some(previous) if previous.total == total => previous.rank,
            _ => u32::try_from(position + 1).unwrap_or(u32::MAX),
        };
        ranked.push(Ranked {
            option,
            total,
            rank,
        });
    }
    ranked
}

/// The one-line recommendation.
///
/// The reference server's two sentences are kept for the cases they describe correctly
/// ("clear winner" on any positive margin, "close race" for a single option). Two cases it got
/// wrong read differently: an exact tie for first names every tied option instead of claiming
/// one "edges ahead", and a matrix with no score at all says so instead of recommending an
/// option with 0.0 points.
pub fn recommendation(ranking: &[Ranked], names: &[&str], any_scored: bool) -> String {
    let name = |r: &Ranked| names.get(r.option).copied().unwrap_or("?");
    let Some(first) = ranking.first() else {
        return "No clear recommendation available".to_owned();
    };
    if !any_scored {
        return "No clear recommendation available: no option has been scored yet".to_owned();
    }
    match ranking.get(1) {
        Some(second) if first.total > second.total => {
            format!(
                "{} is the clear winner with {:.1} points",
                name(first),
                first.total
            )
        }
        Some(_) => {
            let tied: Vec<String> = ranking
                .iter()
                .take_while(|r| r.total == first.total)
                .map(|r| name(r).to_owned())
                .collect();
            format!(
                "{} are tied with {:.1} points",
                join_names(&tied),
                first.total
            )
        }
        None => format!(
            "Close race, but {} edges ahead with {:.1} points",
            name(first),
            first.total
        ),
    }
}

fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn matrix(weights: &[f64], rows: &[&[Option<f64>]]) -> ScoreMatrix {
        ScoreMatrix {
            weights: weights.to_vec(),
            cells: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        }
    }

    #[test]
    fn abstentions_leave_numerator_and_denominator() {
        let m = matrix(&[2.0, 1.0], &[&[Some(8.0), Some(5.0)], &[Some(6.0), None]]);
        let totals = weighted_average_totals(&m);
        assert!((totals[0] - 7.0).abs() < 1e-12);
        assert!((totals[1] - 6.0).abs() < 1e-12);
        let m = matrix(&[1.0], &[&[None], &[None]]);
        assert_eq!(weighted_average_totals(&m), vec![0.0, 0.0]);
    }

    #[test]
    fn ranks_are_shared_and_ties_keep_insertion_order() {
        let ranked = rank(&[5.0, 7.0, 5.0, 9.0]);
        let order: Vec<(usize, u32)> = ranked.iter().map(|r| (r.option, r.rank)).collect();
        assert_eq!(order, vec![(3, 1), (1, 2), (0, 3), (2, 3)]);
    }

    #[test]
    fn recommendation_sentences() {
        let names = ["A", "B", "C"];
        assert_eq!(
            recommendation(&rank(&[7.25, 7.2, 1.0]), &names, true),
            "A is the clear winner with 7.2 points"
        );
        assert_eq!(
            recommendation(&rank(&[6.0, 6.0, 1.0]), &names, true),
            "A and B are tied with 6.0 points"
        );
        assert_eq!(
            recommendation(&rank(&[3.0]), &names, true),
            "Close race, but A edges ahead with 3.0 points"
        );
        assert_eq!(
            recommendation(&[], &names, false),
            "No clear recommendation available"
        );
        assert_eq!(
            recommendation(&rank(&[0.0, 0.0]), &names, false),
            "No clear recommendation available: no option has been scored yet"
        );
    }

    fn arb_matrix() -> impl Strategy<Value = ScoreMatrix> {
        (1usize..8, 1usize..6).prop_flat_map(|(options, criteria)| {
            (
                proptest::collection::vec(0.1f64..=10.0, criteria),
                proptest::collection::vec(
                    proptest::option::weighted(0.8, 1.0f64..=10.0),
                    options * criteria,
                ),
            )
                .prop_map(|(weights, cells)| ScoreMatrix { weights, cells })
        })
    }

    proptest! {
        #[test]
        fn totals_are_on_the_score_scale_or_zero(m in arb_matrix()) {
            for (o, total) in weighted_average_totals(&m).into_iter().enumerate() {
                let scored = (0..m.criteria()).any(|c| m.cell(o, c).is_some());
                if scored {
                    prop_assert!((1.0 - 1e-9..=10.0 + 1e-9).contains(&total));
                } else {
                    prop_assert_eq!(total, 0.0);
                }
            }
        }

        #[test]
        fn ranking_is_a_permutation_in_descending_order(m in arb_matrix()) {
            let totals = weighted_average_totals(&m);
            let ranked = rank(&totals);
            let mut seen: Vec<usize> = ranked.iter().map(|r| r.option).collect();
            seen.sort_unstable();
            prop_assert_eq!(seen, (0..m.options()).collect::<Vec<_>>());
            for pair in ranked.windows(2) {
                prop_assert!(pair[0].total >= pair[1].total);
                prop_assert!(pair[0].rank <= pair[1].rank);
                if pair[0].total == pair[1].total {
                    prop_assert!(pair[0].option < pair[1].option);
                    prop_assert_eq!(pair[0].rank, pair[1].rank);
                }
            }
        }

        #[test]
        fn abstained_cells_do_not_move_a_total(m in arb_matrix(), extra in 1.0f64..=10.0) {
            // Adding a criterion on which every option abstains changes nothing.
            let criteria = m.criteria();
            let mut wider = ScoreMatrix { weights: m.weights.clone(), cells: Vec::new() };
            wider.weights.push(extra);
            for o in 0..m.options() {
                for c in 0..criteria {
                    wider.cells.push(m.cell(o, c));
                }
                wider.cells.push(None);
            }
            prop_assert_eq!(weighted_average_totals(&m), weighted_average_totals(&wider));
        }
    }
}
