//! The position effect: how much a judge adds to an option's score for being listed early.
//!
//! The model is linear in the [`lean`](super::evidence::Position::lean) of the place (+1
//! first, −1 last): a judgment is `value + b·lean + noise`, one `b` for the decision, pooled
//! over judges. Balanced call orders already make `b` cancel in the long run; estimating it
//! removes what is left when replanning lists changing subsets, and when a criterion has had
//! an odd number of calls.
//!
//! `b` is identified only by the same judge scoring the same cell at different places, so the
//! estimate is the within-group regression slope over (cell, judge) groups: with scores and
//! leans centred on their group means, `b̂ = Σ x·l / Σ l²`. It is shrunk towards 0 by a normal
//! prior `b ~ N(0, τ²)`: the posterior mean is `Σ x·l / (Σ l² + σ²/τ²)`, with `σ` the noise
//! of one judgment. With little replication the correction stays small; with a lot, the data
//! decide. τ = 1 point is the size of the effect reported for LLM judges.

use super::evidence::Evidence;

/// The estimated position effect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionEffect {
    /// Points added per unit of lean (the first listed option gets `+per_lean`, the last
    /// `−per_lean`): the shrunk estimate that corrections use.
    pub per_lean: f64,
    /// Its posterior standard deviation.
    pub standard_error: f64,
    /// Σ l² over the groups: how much the data say about it (0: nothing).
    pub leverage: f64,
}

impl PositionEffect {
    /// No correction.
    pub const NONE: PositionEffect = PositionEffect {
        per_lean: 0.0,
        standard_error: 0.0,
        leverage: 0.0,
    };

    /// Estimates the effect from `evidence`, given the noise `sd` of one judgment and the
    /// prior standard deviation `prior_sd` of the effect (τ).
    pub fn estimate(evidence: &Evidence, sd: f64, prior_sd: f64) -> PositionEffect {
        let mut sxy = 0.0;
        let mut sxx = 0.0;
        for (_, _, cell) in evidence.iter() {
            if cell.manual.is_some() {
                continue;
            }
            for judge in 0..evidence.judges() {
                let group: Vec<(f64, f64)> = cell
                    .samples
                    .iter()
                    .filter(|s| s.judge == judge)
                    .map(|s| (s.position.lean(), s.score))
                    .collect();
                if group.len() < 2 {
                    continue;
                }
                let n = group.len() as f64;
                let mean_l = group.iter().map(|g| g.0).sum::<f64>() / n;
                // Scores are taken about the group's first rather than its mean: the same
                // sum since the centred leans add up to 0, and exactly 0 when the judge
                // repeated itself.
                let origin = group[0].1;
                for (l, x) in group {
                    sxy += (l - mean_l) * (x - origin);
                    sxx += (l - mean_l).powi(2);
                }
            }
        }
        // The prior's precision relative to the data's, in units of Σ l².
        let ridge = if prior_sd > 0.0 {
            sd * sd / (prior_sd * prior_sd)
        } else {
            f64::INFINITY
        };
        let denominator = sxx + ridge;
        if !(denominator.is_finite() && denominator > 0.0) {
            // No prior room (τ = 0) or no data and no noise: no correction.
            return PositionEffect {
                leverage: sxx,
                ..PositionEffect::NONE
            };
        }
        PositionEffect {
            per_lean: sxy / denominator,
            standard_error: sd / denominator.sqrt(),
            leverage: sxx,
        }
    }

    /// `score` with the effect of its place removed.
    pub fn correct(&self, score: f64, lean: f64) -> f64 {
        score - self.per_lean * lean
    }
}

#[cfg(test)]
mod tests {
    use super::super::evidence::Answer;
    use super::*;

    fn scored(xs: &[f64]) -> Vec<Answer> {
        xs.iter().map(|&x| Answer::Score(x)).collect()
    }

    #[test]
    fn slope_is_recovered_from_swapped_orders() {
        // Two options, one judge, two calls in opposite orders. Option 0 scores 8 first and
        // 6 last; option 1 scores 5 first and 3 last: b = 1 point per unit of lean.
        let mut e = Evidence::new(2, &[1.0], 1).unwrap();
        e.record_call(0, 0, &[0, 1], &scored(&[8.0, 3.0])).unwrap();
        e.record_call(0, 0, &[1, 0], &scored(&[5.0, 6.0])).unwrap();
        // Centred leans ±1 in each group: Σ l² = 4, Σ x·l = (1·1 + (−1)·(−1)) + (1 + 1) = 4.
        let flat = PositionEffect::estimate(&e, 1.0, f64::INFINITY);
        assert!((flat.per_lean - 1.0).abs() < 1e-12, "{flat:?}");
        assert_eq!(flat.leverage, 4.0);
        // With τ = 1 and σ = 1 the prior adds 1 to Σ l²: 4 / 5.
        let shrunk = PositionEffect::estimate(&e, 1.0, 1.0);
        assert!((shrunk.per_lean - 0.8).abs() < 1e-12);
        assert!((shrunk.standard_error - 1.0 / 5f64.sqrt()).abs() < 1e-12);
        assert!((shrunk.correct(8.0, 1.0) - 7.2).abs() < 1e-12);
    }

    #[test]
    fn no_replicates_no_correction() {
        let mut e = Evidence::new(3, &[1.0, 1.0], 1).unwrap();
        e.record_call(0, 0, &[0, 1, 2], &scored(&[9.0, 5.0, 1.0]))
            .unwrap();
        let effect = PositionEffect::estimate(&e, 1.5, 1.0);
        assert_eq!(effect.per_lean, 0.0);
        assert_eq!(effect.leverage, 0.0);
        // An exact judge without replicates: nothing to learn and nothing to correct.
        assert_eq!(PositionEffect::estimate(&e, 0.0, 1.0).per_lean, 0.0);
    }

    #[test]
    fn different_judges_are_not_compared_with_each_other() {
        // Judge 0 lists option 0 first and judge 1 last; their scores differ by their own
        // leanings, which must not be read as a position effect.
        let mut e = Evidence::new(2, &[1.0], 2).unwrap();
        e.record_call(0, 0, &[0, 1], &scored(&[9.0, 5.0])).unwrap();
        e.record_call(0, 1, &[1, 0], &scored(&[5.0, 3.0])).unwrap();
        assert_eq!(PositionEffect::estimate(&e, 1.0, 1.0).leverage, 0.0);
    }
}
