//! The noise level: how far one judgment strays from the cell's value, pooled over cells.
//!
//! Two components, because replicates and judges do different things:
//!
//! - **Within** (σ_w): the standard deviation of one judge's replicates of one cell around that
//!   judge's own average for it. Every cell of a decision shares the judge, so the
//!   within-cell sums of squares are pooled over all (cell, judge) groups:
//!   `σ̂_w² = SS / df` with `df = Σ (n − 1)` (less one per fitted position effect). This works
//!   with only two samples per cell. Where scores sit at a cap of the scale the spread that
//!   is seen understates σ (the cap squeezes it), so σ is then the censored-normal maximum
//!   likelihood estimate, each group at its own location, and `SS = σ̂²·N` over the same
//!   `N − G` degrees of freedom (N samples in G groups).
//! - **Between** (σ_b): how far judges' averages for the same cell differ beyond what their
//!   within noise explains — each model's own leaning. Replicates of one judge never average
//!   it out; only more judges do. Estimated by the method of moments: the variance of the
//!   judge means of a cell estimates `σ_b² + σ_w²·mean(1/n_j)`, pooled over cells with two
//!   or more judges and floored at 0. With a single judge it is invisible and taken as 0: the
//!   numbers then describe what this judge would say with unlimited replicates.
//!
//! # The prior
//!
//! Before there are replicates, σ_w cannot be measured. The prior stands in: σ₀ = 1.5 points,
//! a typical run-to-run disagreement of an LLM judge with itself on a 1–10 scale (and the
//! noise of the simulated judges), worth `weight` = 6 pseudo degrees of freedom. It fills in for the replicates that are missing and
//! steps aside as they arrive:
//!
//! `σ̂_w² = (max(0, weight − df)·σ₀² + SS) / max(weight, df)`
//!
//! so with no replicates σ̂_w = σ₀, with 3 degrees of freedom half the estimate is prior, and
//! from 6 on it is the data alone. The prior fades completely (unlike a conjugate prior,
//! which would keep σ₀² in the numerator for ever) so that a judge that repeats itself exactly
//! is recognised as exact: zero within-cell spread over six or more replicates means σ̂_w = 0.
//! The degrees of freedom behind the estimate, `max(weight, df)`, widen the Monte Carlo draws
//! (a Student-t-like mixture) while they are few.

use super::estimate::{Cap, Reading, locate, log_likelihood, sum_of_squares};

/// What is assumed about σ_w before replicates say otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoisePrior {
    /// σ₀, in points on the 1–10 scale.
    pub sd: f64,
    /// The degrees of freedom the prior stands in for.
    pub weight: f64,
}

impl Default for NoisePrior {
    fn default() -> NoisePrior {
        NoisePrior {
            sd: 1.5,
            weight: 6.0,
        }
    }
}

/// The samples of one judge for one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeGroup {
    /// Which cell (any identifier unique within the decision).
    pub cell: usize,
    /// Which judge.
    pub judge: usize,
    /// The judge's samples of the cell, position effect removed.
    pub readings: Vec<Reading>,
}

/// The pooled noise model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Noise {
    /// σ_w: standard deviation of one judgment around its judge's average for the cell.
    pub within_sd: f64,
    /// Degrees of freedom from replicates (0 before any).
    pub replicate_df: f64,
    /// Degrees of freedom behind `within_sd`, the prior's included: `max(weight, df)`.
    pub effective_df: f64,
    /// σ_b: standard deviation of judges' averages for the same cell (0 with one judge).
    pub between_sd: f64,
    /// Degrees of freedom behind `between_sd` (0 when there is none to measure).
    pub between_df: f64,
}

impl Noise {
    /// The prior alone.
    pub fn prior(prior: NoisePrior) -> Noise {
        Noise {
            within_sd: prior.sd,
            replicate_df: 0.0,
            effective_df: prior.weight.max(0.0),
            between_sd: 0.0,
            between_df: 0.0,
        }
    }

    /// Pools `groups` (every (cell, judge) with at least one sample). `fitted` degrees of
    /// freedom are taken off for parameters estimated from the same residuals (1 when a
    /// position effect was fitted).
    pub fn pooled(groups: &[JudgeGroup], prior: NoisePrior, fitted: f64) -> Noise {
        Noise::pool(groups, prior, fitted, true)
    }

    /// Like [`pooled`](Noise::pooled), but reading capped scores as plain values: a quick,
    /// slightly low first estimate (used to size the shrinkage of the position effect).
    pub fn pooled_plain(groups: &[JudgeGroup], prior: NoisePrior) -> Noise {
        Noise::pool(groups, prior, 0.0, false)
    }

    fn pool(groups: &[JudgeGroup], prior: NoisePrior, fitted: f64, censored: bool) -> Noise {
        let replicated: Vec<&[Reading]> = groups
            .iter()
            .map(|g| g.readings.as_slice())
            .filter(|r| r.len() >= 2)
            .collect();
        let raw_df: f64 = replicated.iter().map(|r| (r.len() - 1) as f64).sum();
        let sum_squares = replicate_sum_of_squares(&replicated, censored);
        let df = (raw_df - fitted).max(0.0);
        let weight = prior.weight.max(0.0);
        let effective_df = weight.max(df);
        let within_var = if effective_df > 0.0 {
            ((weight - df).max(0.0) * prior.sd * prior.sd + sum_squares) / effective_df
        } else {
            prior.sd * prior.sd
        };
        let within_sd = within_var.sqrt();
        let (between_var, between_df) = between(groups, within_sd);
        Noise {
            within_sd,
            replicate_df: df,
            effective_df,
            between_sd: between_var.sqrt(),
            between_df,
        }
    }

    /// The variance of a cell's value when judge `j`'s samples of it are worth `counts[j]`
    /// uncapped samples (its [effective count](super::estimate::Estimate::effective_count))
    /// and the value is the mean of the judges' estimates: `σ_b²/J + Σ_j σ_w² / (J²·n_j)`
    /// over the `J` judges with samples. `None` without samples.
    pub fn cell_variance(&self, counts: &[f64]) -> Option<f64> {
        let judges = counts.iter().filter(|&&n| n > 0.0).count();
        if judges == 0 {
            return None;
        }
        let j = judges as f64;
        let within: f64 = counts
            .iter()
            .filter(|&&n| n > 0.0)
            .map(|&n| self.within_sd.powi(2) / n)
            .sum();
        Some(self.between_sd.powi(2) / j + within / (j * j))
    }
}

/// The within-group sum of squares of replicated groups.
///
/// Without capped scores it is the plain Σ (x − x̄)². With them, the spread of what is seen
/// understates the spread of the judgments (a cap squeezes it), so σ is found by maximum
/// likelihood of the censored normal, each group at its own best location, and the sum of
/// squares reported as `σ̂²_ML · N`: over `N − G` degrees of freedom (N samples, G groups)
/// this is the usual correction for the G fitted locations, exact without caps.
fn replicate_sum_of_squares(groups: &[&[Reading]], censored: bool) -> f64 {
    let plain: Vec<f64> = groups
        .iter()
        .map(|g| sum_of_squares(&g.iter().map(|r| r.score).collect::<Vec<_>>()))
        .collect();
    let capped = censored && groups.iter().any(|g| g.iter().any(|r| r.cap != Cap::None));
    if !capped || plain.iter().all(|&ss| ss == 0.0) {
        // No caps; or a judge that repeated itself exactly everywhere, which no amount of
        // noise would do: σ = 0.
        return plain.iter().sum();
    }
    let n: usize = groups.iter().map(|g| g.len()).sum();
    let profile = |log_sd: f64| -> f64 {
        let sd = log_sd.exp();
        groups
            .iter()
            .zip(&plain)
            .map(|(g, &ss)| {
                if g.iter().all(|r| r.cap == Cap::None) {
                    -(g.len() as f64) * log_sd - ss / (2.0 * sd * sd)
                } else {
                    log_likelihood(g, locate(g, sd).0, sd)
                }
            })
            .sum()
    };
    // Golden-section search for the maximum over log σ in [0.01, 10] points; the profile
    // is unimodal there, and 32 steps narrow the bracket to 2·10⁻⁶ in log σ.
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut low, mut high) = (0.01f64.ln(), 10f64.ln());
    let mut a = high - ratio * (high - low);
    let mut b = low + ratio * (high - low);
    let (mut fa, mut fb) = (profile(a), profile(b));
    for _ in 0..32 {
        if fa < fb {
            low = a;
            a = b;
            fa = fb;
            b = low + ratio * (high - low);
            fb = profile(b);
        } else {
            high = b;
            b = a;
            fb = fa;
            a = high - ratio * (high - low);
            fa = profile(a);
        }
    }
    let sd = (0.5 * (low + high)).exp();
    sd * sd * n as f64
}

/// σ_b² and its degrees of freedom by the method of moments over cells with two or more
/// judges, each judge's mean located with noise `sd`.
fn between(groups: &[JudgeGroup], sd: f64) -> (f64, f64) {
    if groups.iter().all(|g| g.judge == groups[0].judge) {
        return (0.0, 0.0);
    }
    let mut cells: Vec<usize> = groups.iter().map(|g| g.cell).collect();
    cells.sort_unstable();
    cells.dedup();
    let within_var = sd * sd;
    let mut excess = 0.0;
    let mut df = 0.0;
    for cell in cells {
        let judges: Vec<(f64, f64)> = groups
            .iter()
            .filter(|g| g.cell == cell && !g.readings.is_empty())
            .map(|g| locate(&g.readings, sd))
            .collect();
        if judges.len() < 2 {
            continue;
        }
        let j = judges.len() as f64;
        let mean = judges.iter().map(|g| g.0).sum::<f64>() / j;
        let variance = judges.iter().map(|g| (g.0 - mean).powi(2)).sum::<f64>() / (j - 1.0);
        let inverse_counts = judges.iter().map(|g| 1.0 / g.1).sum::<f64>() / j;
        excess += (j - 1.0) * (variance - within_var * inverse_counts);
        df += j - 1.0;
    }
    if df > 0.0 {
        ((excess / df).max(0.0), df)
    } else {
        (0.0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::rng::SeededRng;
    use super::*;

    fn group(cell: usize, judge: usize, xs: &[f64]) -> JudgeGroup {
        JudgeGroup {
            cell,
            judge,
            readings: xs.iter().map(|&x| Reading::of(x, 0.0)).collect(),
        }
    }

    #[test]
    fn without_replicates_the_prior_holds() {
        let groups = [group(0, 0, &[7.0]), group(1, 0, &[3.0])];
        let noise = Noise::pooled(&groups, NoisePrior::default(), 0.0);
        assert_eq!(noise.within_sd, 1.5);
        assert_eq!(noise.replicate_df, 0.0);
        assert_eq!(noise.effective_df, 6.0);
        assert_eq!(noise, Noise::prior(NoisePrior::default()));
    }

    #[test]
    fn few_replicates_blend_with_the_prior() {
        // Three cells with two samples each, differences 2, 0 and 2: SS = 2 + 0 + 2 = 4 on
        // 3 df. Blend: (3·2.25 + 4) / 6 = 10.75 / 6.
        let groups = [
            group(0, 0, &[6.0, 8.0]),
            group(1, 0, &[5.0, 5.0]),
            group(2, 0, &[2.0, 4.0]),
        ];
        let noise = Noise::pooled(&groups, NoisePrior::default(), 0.0);
        assert!((noise.within_sd.powi(2) - 10.75 / 6.0).abs() < 1e-12);
        assert_eq!((noise.replicate_df, noise.effective_df), (3.0, 6.0));
        // One fitted parameter costs one degree of freedom: (4·2.25 + 4) / 6.
        let fitted = Noise::pooled(&groups, NoisePrior::default(), 1.0);
        assert!((fitted.within_sd.powi(2) - 13.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn many_replicates_leave_the_prior_behind() {
        // Eight cells, each 4 and 6: SS = 2 per cell, 8 df, σ̂² = 16 / 8 = 2.
        let groups: Vec<JudgeGroup> = (0..8).map(|c| group(c, 0, &[4.0, 6.0])).collect();
        let noise = Noise::pooled(&groups, NoisePrior::default(), 0.0);
        assert!((noise.within_sd.powi(2) - 2.0).abs() < 1e-12);
        assert_eq!(noise.effective_df, 8.0);
        // An exact judge: no spread at all over six replicates.
        let exact: Vec<JudgeGroup> = (0..6).map(|c| group(c, 0, &[5.0, 5.0])).collect();
        assert_eq!(
            Noise::pooled(&exact, NoisePrior::default(), 0.0).within_sd,
            0.0
        );
    }

    #[test]
    fn judges_leanings_are_the_excess_spread_of_their_means() {
        // Two cells, two judges, two samples each. Within: every pair differs by 2, SS = 2
        // per group, 4 df, σ̂_w² = 8 / 6 blended with 2 prior df: (2·2.25 + 8)/6 = 12.5/6.
        // Judge means differ by 3 in both cells: variance of two means = 4.5, minus
        // σ̂_w²·(1/2) gives σ̂_b² = 4.5 − 12.5/12.
        let groups = [
            group(0, 0, &[6.0, 8.0]),
            group(0, 1, &[3.0, 5.0]),
            group(1, 0, &[2.0, 4.0]),
            group(1, 1, &[5.0, 7.0]),
        ];
        let noise = Noise::pooled(&groups, NoisePrior::default(), 0.0);
        let within = 12.5 / 6.0;
        assert!((noise.within_sd.powi(2) - within).abs() < 1e-12);
        assert!((noise.between_sd.powi(2) - (4.5 - within / 2.0)).abs() < 1e-12);
        assert_eq!(noise.between_df, 2.0);
        // A cell's variance with both judges, two samples each:
        // σ_b²/2 + (σ_w²/2 + σ_w²/2)/4.
        let v = noise.cell_variance(&[2.0, 2.0]).unwrap();
        let expected = noise.between_sd.powi(2) / 2.0 + within / 4.0;
        assert!((v - expected).abs() < 1e-12);
        assert_eq!(noise.cell_variance(&[0.0, 0.0]), None);
    }

    #[test]
    fn capped_scores_do_not_squeeze_the_noise() {
        // Forty cells near the top of the scale, four samples each of a judge with σ = 1.5,
        // rounded and capped at 10. The plain spread of what is seen understates σ; the
        // censored likelihood recovers it.
        let mut rng = SeededRng::new(21);
        let groups: Vec<JudgeGroup> = (0..40)
            .map(|c| {
                let truth = 8.0 + f64::from(c % 3);
                let xs: Vec<f64> = (0..4)
                    .map(|_| (truth + 1.5 * rng.normal()).round().clamp(1.0, 10.0))
                    .collect();
                group(c as usize, 0, &xs)
            })
            .collect();
        let plain = Noise::pooled_plain(&groups, NoisePrior::default()).within_sd;
        let censored = Noise::pooled(&groups, NoisePrior::default(), 0.0).within_sd;
        assert!(plain < 1.35, "plain {plain}");
        assert!((censored - 1.5).abs() < 0.15, "censored {censored}");
        // A judge that gave 10 every time for the top cells and repeated itself elsewhere is
        // exact, caps or not.
        let exact = [
            group(0, 0, &[10.0, 10.0, 10.0]),
            group(1, 0, &[6.0, 6.0, 6.0, 6.0, 6.0]),
        ];
        assert_eq!(
            Noise::pooled(&exact, NoisePrior::default(), 0.0).within_sd,
            0.0
        );
    }

    #[test]
    fn agreeing_judges_have_no_leaning() {
        let groups = [group(0, 0, &[6.0, 8.0]), group(0, 1, &[6.0, 8.0])];
        assert_eq!(
            Noise::pooled(&groups, NoisePrior::default(), 0.0).between_sd,
            0.0
        );
    }
}
