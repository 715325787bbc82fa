//! A cell's value from one judge's samples: the location estimate, the spread and the count.
//!
//! # The model of a judgment
//!
//! A judge answers on a capped integer scale: a score is a latent judgment `μ + noise`
//! (Gaussian, standard deviation σ) rounded to an integer and held within 1–10. Rounding adds
//! a little variance (1/12 of a point squared, absorbed into σ). The caps do more: a 10 only
//! says the latent judgment was **at least 9.5**, a 1 that it was **at most 1.5**. A plain
//! mean treats those as exact and so pulls the best and worst cells towards the middle — a
//! cell whose value is 10, scored with σ = 1.5, averages about 9.4 — which compresses exactly
//! the differences between strong options that a recommendation turns on. Each sample is
//! therefore a [`Reading`]: a value, or, for a score at a cap, a bound.
//!
//! # The estimator
//!
//! The maximum-likelihood location of the censored normal (a Tobit mean), restricted to the
//! scale 1–10, given the pooled σ of [`noise`](super::noise): the root of
//! `Σ (x − μ)/σ² + Σ_{≥t} λ(z)/σ − Σ_{≤t} λ(z')/σ = 0` (λ the inverse Mills ratio), found
//! by Newton's method inside a bracket, the log-likelihood being concave in μ. Without a sample at a cap it is the
//! **mean**: for noise close to Gaussian the mean uses all the information, where a median
//! of three discards a quarter of it and a trimmed mean needs more samples than a cell gets to
//! tell an outlier from ordinary spread. A judge known to be exact (σ = 0) gives its value
//! directly.
//!
//! A capped sample carries less information than a value, so the estimate also reports its
//! **effective count**: σ² times the observed information at the estimate (each value counts
//! 1, each bound `λ(λ − z)` < 1). Standard errors use it in place of the count.
//!
//! The **spread** is the sample standard deviation of the samples as given (n − 1 in the
//! denominator; 0 for one sample). A single manual score is **exact**: a person's decision,
//! not a measurement, so its spread is zero and it is flagged as exact.

use crate::domain::Score;

use super::normal::{inverse_mills, upper_tail};

/// The lowest latent judgment a top score stands for, and the highest a bottom score does.
const TOP: f64 = Score::MAX - 0.5;
const BOTTOM: f64 = Score::MIN + 0.5;

/// What one sample says about the latent judgment, after the position effect is removed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// The score with the position effect taken off.
    pub score: f64,
    /// Whether the score sits at a cap of the scale.
    pub cap: Cap,
}

/// A cap of the scale and the bound on the latent judgment it implies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cap {
    /// Inside the scale: the score is the judgment, up to noise.
    None,
    /// At the top: the judgment was at least this.
    Top(f64),
    /// At the bottom: the judgment was at most this.
    Bottom(f64),
}

impl Reading {
    /// The reading of `score` given on the 1–10 scale, with `correction` (the position
    /// effect of its place) to be taken off.
    pub fn of(score: f64, correction: f64) -> Reading {
        let cap = if score >= Score::MAX {
            Cap::Top(TOP - correction)
        } else if score <= Score::MIN {
            Cap::Bottom(BOTTOM - correction)
        } else {
            Cap::None
        };
        Reading {
            score: score - correction,
            cap,
        }
    }

    /// The expected squared distance of the latent judgment from `mu`, given this reading
    /// and noise `sd`: `(x − μ)²` for a value; for a capped score, the variance plus squared
    /// bias of the truncated normal (the E-step of EM for censored data). A judge without
    /// noise is taken at its word.
    pub fn expected_square(self, mu: f64, sd: f64) -> f64 {
        let truncated = |z: f64| {
            let lambda = inverse_mills(z);
            sd * sd * (1.0 - lambda * (lambda - z)) + (sd * lambda).powi(2)
        };
        match self.cap {
            Cap::None => (self.score - mu).powi(2),
            _ if sd <= 0.0 => (self.score - mu).powi(2),
            Cap::Top(t) => truncated((t - mu) / sd),
            Cap::Bottom(t) => truncated((mu - t) / sd),
        }
    }

    /// ∂ log-likelihood / ∂μ times σ², and the observed information times σ².
    fn score_and_information(self, mu: f64, sd: f64) -> (f64, f64) {
        match self.cap {
            Cap::None => (self.score - mu, 1.0),
            Cap::Top(t) => {
                let z = (t - mu) / sd;
                let lambda = inverse_mills(z);
                (sd * lambda, lambda * (lambda - z))
            }
            Cap::Bottom(t) => {
                let z = (mu - t) / sd;
                let lambda = inverse_mills(z);
                (-sd * lambda, lambda * (lambda - z))
            }
        }
    }
}

/// The value of a cell by one judge, and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The location estimate on the 1–10 scale.
    pub value: f64,
    /// Sample standard deviation of the samples; 0 for one sample and for exact values.
    pub spread: f64,
    /// Samples used (abstentions are never samples).
    pub count: usize,
    /// What the samples are worth as uncapped values (≤ `count`).
    pub effective_count: f64,
    /// A person set the value: it is known without error.
    pub exact: bool,
}

impl Estimate {
    /// A score a person set.
    pub fn exact(score: f64) -> Estimate {
        Estimate {
            value: score,
            spread: 0.0,
            count: 1,
            effective_count: 1.0,
            exact: true,
        }
    }

    /// The estimate from `scores` with the position corrections `corrections` (same
    /// length; missing ones count as 0), given the noise `sd` of one judgment; `None` without
    /// scores.
    pub fn from_scores(scores: &[f64], corrections: &[f64], sd: f64) -> Option<Estimate> {
        if scores.is_empty() {
            return None;
        }
        let readings: Vec<Reading> = scores
            .iter()
            .enumerate()
            .map(|(i, &s)| Reading::of(s, corrections.get(i).copied().unwrap_or(0.0)))
            .collect();
        let count = scores.len();
        let spread = if count > 1 {
            let adjusted: Vec<f64> = readings.iter().map(|r| r.score).collect();
            (sum_of_squares(&adjusted) / (count - 1) as f64).sqrt()
        } else {
            0.0
        };
        let (value, effective_count) = locate(&readings, sd);
        Some(Estimate {
            value,
            spread,
            count,
            effective_count,
            exact: false,
        })
    }
}

/// The censored-normal maximum-likelihood location of `readings` within 1–10 given noise
/// `sd`, and their effective count (σ² times the observed information there).
pub fn locate(readings: &[Reading], sd: f64) -> (f64, f64) {
    let n = readings.len() as f64;
    if readings.is_empty() {
        return (f64::NAN, 0.0);
    }
    // About the first score, so that equal scores give exactly that score.
    let origin = readings[0].score;
    let mean = origin + readings.iter().map(|r| r.score - origin).sum::<f64>() / n;
    if sd.is_nan() || sd <= 0.0 || readings.iter().all(|r| r.cap == Cap::None) {
        // No caps, or a judge without noise: the mean, every sample a full one.
        return (mean.clamp(Score::MIN, Score::MAX), n);
    }
    let slope = |mu: f64| -> (f64, f64) {
        readings.iter().fold((0.0, 0.0), |(g, h), r| {
            let (gi, hi) = r.score_and_information(mu, sd);
            (g + gi, h + hi)
        })
    };
    let mu = if slope(Score::MIN).0 <= 0.0 {
        Score::MIN
    } else if slope(Score::MAX).0 >= 0.0 {
        Score::MAX
    } else {
        // Newton's method on the concave log-likelihood, kept inside a bracket that the
        // sign of the gradient narrows; a step that leaves the bracket bisects instead.
        let (mut low, mut high) = (Score::MIN, Score::MAX);
        let mut mu = mean.clamp(low, high);
        for _ in 0..100 {
            let (gradient, information) = slope(mu);
            if gradient > 0.0 {
                low = mu;
            } else {
                high = mu;
            }
            let step = gradient / information.max(f64::MIN_POSITIVE);
            let next = mu + step;
            let next = if next > low && next < high {
                next
            } else {
                0.5 * (low + high)
            };
            if (next - mu).abs() < 1e-12 || high - low < 1e-12 {
                mu = next;
                break;
            }
            mu = next;
        }
        mu
    };
    (mu, slope(mu).1.max(f64::MIN_POSITIVE))
}

/// The log-likelihood of `readings` at location `mu` and noise `sd > 0`, up to a constant:
/// `−log σ − (x − μ)²/2σ²` for a value, the log of the probability beyond the bound for a
/// capped score.
pub fn log_likelihood(readings: &[Reading], mu: f64, sd: f64) -> f64 {
    readings
        .iter()
        .map(|r| match r.cap {
            Cap::None => -sd.ln() - (r.score - mu).powi(2) / (2.0 * sd * sd),
            Cap::Top(t) => upper_tail((t - mu) / sd).max(f64::MIN_POSITIVE).ln(),
            Cap::Bottom(t) => upper_tail((mu - t) / sd).max(f64::MIN_POSITIVE).ln(),
        })
        .sum()
}

/// Σ (x − x̄)², computed about the first value so that equal values give exactly 0 (a
/// judge that repeats itself must come out exact, not 10⁻¹⁶ off).
pub fn sum_of_squares(values: &[f64]) -> f64 {
    let Some(&origin) = values.first() else {
        return 0.0;
    };
    let n = values.len() as f64;
    let (sum, squares) = values.iter().fold((0.0, 0.0), |(s, q), &x| {
        let d = x - origin;
        (s + d, q + d * d)
    });
    (squares - sum * sum / n).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn plain(scores: &[f64]) -> Option<Estimate> {
        Estimate::from_scores(scores, &[], 1.5)
    }

    #[test]
    fn no_samples_no_estimate() {
        assert_eq!(plain(&[]), None);
    }

    #[test]
    fn one_sample_has_no_spread_and_is_not_exact() {
        let e = plain(&[7.0]).unwrap();
        assert_eq!((e.value, e.spread, e.count, e.exact), (7.0, 0.0, 1, false));
        assert_eq!(e.effective_count, 1.0);
    }

    #[test]
    fn without_caps_it_is_the_mean() {
        // 6, 8: mean 7, sd √2.
        let e = plain(&[6.0, 8.0]).unwrap();
        assert!(close(e.value, 7.0) && close(e.spread, 2f64.sqrt()));
        // 2, 9, 9: the mean 20/3 (a median would say 9); sd √(49/3).
        let e = plain(&[2.0, 9.0, 9.0]).unwrap();
        assert!(
            close(e.value, 20.0 / 3.0) && close(e.spread, (49.0f64 / 3.0).sqrt()),
            "{e:?}"
        );
    }

    #[test]
    fn corrections_are_taken_off() {
        // 8 listed first and 6 listed last, with a position effect of 1 each way: 7 and 7.
        let e = Estimate::from_scores(&[8.0, 6.0], &[1.0, -1.0], 1.5).unwrap();
        assert_eq!((e.value, e.spread), (7.0, 0.0));
    }

    #[test]
    fn a_top_score_reads_as_at_least_nine_and_a_half() {
        assert_eq!(Reading::of(10.0, 0.0).cap, Cap::Top(9.5));
        assert_eq!(
            Reading::of(1.0, -0.5),
            Reading {
                score: 1.5,
                cap: Cap::Bottom(2.0)
            }
        );
        assert_eq!(
            Reading::of(9.0, 0.5),
            Reading {
                score: 8.5,
                cap: Cap::None
            }
        );
    }

    #[test]
    fn capped_samples_lift_the_estimate_above_the_mean() {
        // 10 and 9 with σ = 1: the mean would be 9.5. The root of
        // (9 − μ) + λ(9.5 − μ) = 0 lies above it.
        let e = Estimate::from_scores(&[10.0, 9.0], &[], 1.0).unwrap();
        assert!(e.value > 9.5 && e.value < 10.0, "{e:?}");
        let z: f64 = 9.5 - e.value;
        assert!(((9.0 - e.value) + inverse_mills(z)).abs() < 1e-9);
        // The capped sample is worth less than a full one.
        assert!(e.effective_count > 1.0 && e.effective_count < 2.0);
        // All at the top: the estimate rests on the top of the scale.
        assert_eq!(plain(&[10.0, 10.0, 10.0]).unwrap().value, 10.0);
        assert_eq!(plain(&[1.0]).unwrap().value, 1.0);
    }

    #[test]
    fn an_exact_judge_is_taken_at_its_word() {
        let e = Estimate::from_scores(&[10.0, 10.0], &[], 0.0).unwrap();
        assert_eq!((e.value, e.effective_count), (10.0, 2.0));
        let e = Estimate::from_scores(&[1.0, 1.0], &[], 0.0).unwrap();
        assert_eq!(e.value, 1.0);
    }

    #[test]
    fn expected_squares_of_bounds_exceed_the_bias_alone() {
        // A value counts its plain square; a bound at μ itself has E[(x − μ)²] = σ² for a
        // half-normal, whatever its side.
        let at = |cap| Reading { score: 5.0, cap };
        assert_eq!(Reading::of(7.0, 0.0).expected_square(5.0, 1.0), 4.0);
        assert!(close(at(Cap::Top(5.0)).expected_square(5.0, 2.0), 4.0));
        assert!(close(at(Cap::Bottom(5.0)).expected_square(5.0, 2.0), 4.0));
        // Without noise a capped score is what it says.
        assert_eq!(Reading::of(10.0, 0.0).expected_square(9.0, 0.0), 1.0);
    }

    #[test]
    fn equal_values_have_exactly_no_spread() {
        assert_eq!(sum_of_squares(&[7.1, 7.1, 7.1]), 0.0);
        assert_eq!(sum_of_squares(&[]), 0.0);
        assert!(close(sum_of_squares(&[1.0, 2.0, 3.0, 4.0]), 5.0));
    }

    #[test]
    fn a_manual_score_is_exact() {
        let e = Estimate::exact(4.0);
        assert_eq!((e.value, e.spread, e.count, e.exact), (4.0, 0.0, 1, true));
    }
}
