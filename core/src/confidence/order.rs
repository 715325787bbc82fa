//! The order in which a batched call lists its options.
//!
//! A judge that sees several options in one prompt favours the first listed and disfavours
//! the last. A fixed order turns that into a fixed bias of each cell; a random order per call
//! turns it into noise. Better still is an order that makes the bias cancel: across the calls
//! (rounds) of one criterion, each option should visit the positions evenly.
//!
//! The design, for a call listing `k` options in round `r` of its criterion:
//!
//! - A **base order** is drawn from (decision, criterion id): every option gets a key mixed
//!   from those and its own id, and options are listed by key. A subset of options is listed
//!   in the base order's relative order, so replanning with fewer options keeps the structure.
//! - Rounds come in **mirrored pairs**: round `2j` lists the base order rotated by `s·j`
//!   places, round `2j + 1` lists round `2j` backwards. An option at place `q` in one comes
//!   to place `k − 1 − q` in the other, so a bias linear in the place (first `+b`, last `−b`)
//!   cancels exactly after every second round.
//! - The rotation step `s` is 2 for even `k` and 1 for odd `k`. For even `k`, the places
//!   `p, p + 2, …` reached by one option in the even rounds are those of one parity, and
//!   mirroring maps each parity onto the other, so **every `k` rounds each option takes each
//!   place exactly once** (a Latin square). For odd `k` the middle place is its own mirror,
//!   and each option takes each place exactly twice every `2k` rounds.
//!
//! The decision is named by a label: the server passes the decision's topic, so the same
//! decision set up again asks the same questions (and can be answered from the cache).
//! Everything is a function of (label, criterion id, round, the listed option ids):
//! the same inputs always give the same order, so a session's prompts can be reproduced.

use crate::domain::{CriterionId, OptionId};

use super::rng::derive_seed;

/// The order in which a call for `criterion` in `round` (0 for the criterion's first call)
/// of the decision labelled `session` lists `options`. The result is a permutation of `options`; duplicates are kept as given.
pub fn call_order(
    session: &str,
    criterion: CriterionId,
    round: u32,
    options: &[OptionId],
) -> Vec<OptionId> {
    let k = options.len();
    if k < 2 {
        return options.to_vec();
    }
    let mut base: Vec<(u64, OptionId)> = options
        .iter()
        .map(|&o| {
            (
                derive_seed(session, &[u64::from(criterion.0), u64::from(o.0)]),
                o,
            )
        })
        .collect();
    base.sort_by_key(|&(key, o)| (key, o));
    let pair = round / 2;
    let mirrored = round % 2 == 1;
    let step = if k.is_multiple_of(2) { 2 } else { 1 };
    let shift = (pair as usize % k) * step % k;
    let mut listed = vec![base[0].1; k];
    for (p, &(_, option)) in base.iter().enumerate() {
        let rotated = (p + shift) % k;
        let place = if mirrored { k - 1 - rotated } else { rotated };
        listed[place] = option;
    }
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u32) -> Vec<OptionId> {
        (0..n).map(OptionId).collect()
    }

    fn place_of(order: &[OptionId], option: OptionId) -> usize {
        order
            .iter()
            .position(|&o| o == option)
            .expect("option is listed")
    }

    #[test]
    fn every_round_is_a_permutation() {
        for n in 1..=9 {
            for round in 0..12 {
                let order = call_order("s", CriterionId(3), round, &ids(n));
                let mut sorted = order.clone();
                sorted.sort();
                assert_eq!(sorted, ids(n), "n={n} round={round}");
            }
        }
    }

    #[test]
    fn even_counts_visit_each_place_once_in_n_rounds() {
        for n in [2u32, 4, 6, 8, 20] {
            let options = ids(n);
            let mut visits = vec![vec![0u32; n as usize]; n as usize];
            for round in 0..n {
                let order = call_order("session-a", CriterionId(1), round, &options);
                for (place, o) in order.iter().enumerate() {
                    visits[o.0 as usize][place] += 1;
                }
            }
            for (o, row) in visits.iter().enumerate() {
                assert!(row.iter().all(|&v| v == 1), "n={n} option {o}: {row:?}");
            }
        }
    }

    #[test]
    fn odd_counts_visit_each_place_twice_in_2n_rounds() {
        for n in [3u32, 5, 7] {
            let options = ids(n);
            let mut visits = vec![vec![0u32; n as usize]; n as usize];
            for round in 0..2 * n {
                let order = call_order("session-b", CriterionId(2), round, &options);
                for (place, o) in order.iter().enumerate() {
                    visits[o.0 as usize][place] += 1;
                }
            }
            for row in &visits {
                assert!(row.iter().all(|&v| v == 2), "n={n}: {row:?}");
            }
        }
    }

    #[test]
    fn a_linear_position_bias_cancels_every_second_round() {
        for n in 2u32..=7 {
            let options = ids(n);
            let mut lean_sum = vec![0.0f64; n as usize];
            for round in 0..6 {
                let order = call_order("s", CriterionId(0), round, &options);
                for (place, o) in order.iter().enumerate() {
                    lean_sum[o.0 as usize] += 1.0 - 2.0 * place as f64 / f64::from(n - 1);
                }
                if round % 2 == 1 {
                    assert!(
                        lean_sum.iter().all(|s| s.abs() < 1e-12),
                        "n={n} round={round}: {lean_sum:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn reproducible_and_different_per_session_and_criterion() {
        let options = ids(8);
        let a = call_order("alpha", CriterionId(1), 0, &options);
        assert_eq!(a, call_order("alpha", CriterionId(1), 0, &options));
        // 8! orders: two independent draws coincide with probability 1/40320.
        assert_ne!(a, call_order("beta", CriterionId(1), 0, &options));
        assert_ne!(a, call_order("alpha", CriterionId(2), 0, &options));
        assert_ne!(a, call_order("alpha", CriterionId(1), 1, &options));
    }

    #[test]
    fn round_one_mirrors_round_zero() {
        let options = ids(6);
        let first = call_order("m", CriterionId(4), 0, &options);
        let mut second = call_order("m", CriterionId(4), 1, &options);
        second.reverse();
        assert_eq!(first, second);
    }

    #[test]
    fn a_subset_keeps_the_base_relative_order() {
        let all = ids(7);
        let full = call_order("sub", CriterionId(9), 0, &all);
        let subset = [OptionId(5), OptionId(1), OptionId(3)];
        let part = call_order("sub", CriterionId(9), 0, &subset);
        let mut expected: Vec<OptionId> = subset.to_vec();
        expected.sort_by_key(|&o| place_of(&full, o));
        assert_eq!(part, expected);
    }

    #[test]
    fn tiny_lists_are_returned_as_given() {
        assert!(call_order("s", CriterionId(0), 3, &[]).is_empty());
        assert_eq!(
            call_order("s", CriterionId(0), 3, &[OptionId(4)]),
            vec![OptionId(4)]
        );
    }
}
