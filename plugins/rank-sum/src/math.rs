//! The weighted Borda count arithmetic, free of WIT bindings so it runs in host-target unit
//! tests.
//!
//! Each criterion is treated as a voter that ranks the options by their scores on it; the
//! criterion's weight is the size of that voter's bloc. On a criterion an option earns one
//! point for every option it strictly beats and half a point for every other option it ties
//! with ("tournament-style" counting). This is the same as giving it `n − r` points for an
//! average rank `r` among the `n` options scored there (ties share the mean of the positions
//! they span), so the worst option gets 0 and the best `n − 1`.
//!
//! Only the scores' order counts, not their size: a 10 beats a 9 by exactly as much as a 9
//! beats a 1.
//!
//! An abstained or missing cell takes no part in its criterion's ranking: the option earns no
//! points there, and the others do not earn a point for beating it. Unlike the weighted
//! average, where an abstention is neutral, an abstention costs the points the option might
//! have won on that criterion; that is the price of counting only comparisons that were
//! actually made.

/// Each option's weighted Borda total, `Σ weight × points`, in option order.
///
/// `cells` is row-major (`option * weights.len() + criterion`) and must hold
/// `options × weights.len()` entries of finite numbers, as `Matrix::check_shape` guarantees.
/// An option without a scored cell totals 0, as does every option when all weights are 0.
pub fn totals(options: usize, weights: &[f64], cells: &[Option<f64>]) -> Vec<f64> {
    debug_assert_eq!(options.checked_mul(weights.len()), Some(cells.len()));
    let mut totals = vec![0.0; options];
    if weights.is_empty() {
        // `chunks_exact(0)` would panic; without criteria nobody earns anything.
        return totals;
    }
    let rows: Vec<&[Option<f64>]> = cells.chunks_exact(weights.len()).collect();
    for (c, &weight) in weights.iter().enumerate() {
        let column: Vec<Option<f64>> = rows.iter().map(|row| row[c]).collect();
        for (total, points) in totals.iter_mut().zip(points(&column)) {
            *total += weight * points;
        }
    }
    totals
}

/// The Borda points of each entry of one criterion's column: one per scored entry it beats,
/// half per other scored entry it ties with; 0 for an entry without a score.
///
/// Comparing every pair is quadratic in the number of options; sessions have at most 20, for
/// which that is cheap and simpler than sorting and walking tie groups.
pub fn points(column: &[Option<f64>]) -> Vec<f64> {
    column
        .iter()
        .enumerate()
        .map(|(entry, cell)| {
            let Some(score) = cell else {
                return 0.0;
            };
            column
                .iter()
                .enumerate()
                .filter(|&(other, _)| other != entry)
                .filter_map(|(_, cell)| *cell)
                .map(|other| {
                    if other < *score {
                        1.0
                    } else if other == *score {
                        0.5
                    } else {
                        0.0
                    }
                })
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(f64) -> Option<f64> = Some;
    const ABSTAIN: Option<f64> = None;

    /// The Tennessee capital example of the English Wikipedia article "Borda count": 42 % of
    /// the voters rank Memphis > Nashville > Chattanooga > Knoxville, 26 % Nashville >
    /// Chattanooga > Knoxville > Memphis, 15 % Chattanooga > Knoxville > Nashville > Memphis and
    /// 17 % Knoxville > Chattanooga > Nashville > Memphis. With n − i points for place i, the
    /// article's totals are Memphis 126, Nashville 194, Chattanooga 173, Knoxville 107.
    ///
    /// Each bloc is a criterion weighted by its share; each city's "score" on it is any number
    /// that orders the cities as the bloc does (here 10 for first place down to 1 for last).
    #[test]
    fn wikipedia_tennessee_example() {
        let weights = [42.0, 26.0, 15.0, 17.0];
        // Rows: Memphis, Nashville, Chattanooga, Knoxville; columns: the four blocs.
        let cells = [
            S(10.0),
            S(1.0),
            S(1.0),
            S(1.0),
            S(7.0),
            S(10.0),
            S(4.0),
            S(4.0),
            S(4.0),
            S(7.0),
            S(10.0),
            S(7.0),
            S(1.0),
            S(4.0),
            S(7.0),
            S(10.0),
        ];
        assert_eq!(
            totals(4, &weights, &cells),
            vec![126.0, 194.0, 173.0, 107.0]
        );
    }

    /// The tie example of the same article: a voter indifferent between Andrew and Brian,
    /// preferring both to Catherine and Catherine to David. Tournament-style counting gives
    /// Andrew and Brian 2.5 points each (two beaten, half a point for the tie), Catherine 1 and
    /// David 0.
    #[test]
    fn ties_share_half_a_point() {
        assert_eq!(
            points(&[S(8.0), S(8.0), S(5.0), S(2.0)]),
            vec![2.5, 2.5, 1.0, 0.0]
        );
        // Everyone equal: everyone gets the average, (n − 1) / 2.
        assert_eq!(points(&[S(3.0); 5]), vec![2.0; 5]);
    }

    #[test]
    fn points_are_average_rank_borda_points() {
        // n − average rank, with tied entries sharing the mean of the places they span:
        // 9 is first (3 points), the two 6s share places 2 and 3 (n − 2.5 = 1.5 each), 1 is
        // last (0).
        assert_eq!(
            points(&[S(6.0), S(9.0), S(1.0), S(6.0)]),
            vec![1.5, 3.0, 0.0, 1.5]
        );
        // Only the order counts: stretching the scores changes nothing.
        assert_eq!(
            points(&[S(6.0), S(9.0), S(1.0), S(6.0)]),
            points(&[S(2.0), S(10.0), S(1.0), S(2.0)])
        );
    }

    #[test]
    fn abstentions_earn_nothing_and_are_not_beaten() {
        // Criterion 0: option 1 abstained, so option 0 beats only option 2. Criterion 1:
        // everyone scored.
        let weights = [2.0, 1.0];
        let cells = [S(7.0), S(3.0), ABSTAIN, S(9.0), S(5.0), S(1.0)];
        // Criterion 0 points: option 0 → 1, option 1 → 0, option 2 → 0.
        // Criterion 1 points: option 0 → 1, option 1 → 2, option 2 → 0.
        assert_eq!(points(&[S(7.0), ABSTAIN, S(5.0)]), vec![1.0, 0.0, 0.0]);
        assert_eq!(totals(3, &weights, &cells), vec![2.0 + 1.0, 2.0, 0.0]);
    }

    #[test]
    fn no_scores_no_weights_no_criteria() {
        assert_eq!(
            totals(2, &[1.0, 1.0], &[ABSTAIN, ABSTAIN, S(3.0), ABSTAIN]),
            vec![0.0, 0.0]
        );
        assert_eq!(
            totals(2, &[0.0, 0.0], &[S(1.0), S(2.0), S(3.0), S(4.0)]),
            vec![0.0, 0.0]
        );
        assert_eq!(totals(2, &[], &[]), vec![0.0, 0.0]);
        assert!(totals(0, &[1.0], &[]).is_empty());
        assert!(points(&[]).is_empty());
    }

    #[test]
    fn points_per_criterion_add_up_to_the_pairs() {
        // Each pair of scored entries hands out exactly one point between them, so a column
        // with k scores hands out k(k − 1) / 2 points, ties or not.
        let column: Vec<Option<f64>> = (0..12)
            .map(|i| (i % 5 != 0).then(|| f64::from(i % 4)))
            .collect();
        let k = column.iter().flatten().count() as f64;
        let sum: f64 = points(&column).iter().sum();
        assert_eq!(sum, k * (k - 1.0) / 2.0);
    }
}
