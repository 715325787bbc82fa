//! Weight sensitivity for strategies without a closed form: a search through the strategy
//! itself.
//!
//! For each criterion the weight is moved away from its current value in both directions over
//! a grid of the allowed range; the first grid point with another winner brackets the change,
//! and bisection narrows the bracket. A winner change narrower than one grid step (1/32 of the
//! range on that side) can be missed; the strategies shipped here change the winner at most a
//! few times over the range, so in practice the grid finds them. Every probe is one plugin
//! call (tens of microseconds), about a hundred per criterion at most.

use crate::domain::ranking::Ranked;
use crate::domain::sensitivity::CriticalChange;
use crate::domain::{Limits, Session};
use crate::plugins::ScoringPlugin;

use super::{AnalysisError, plugin_matrix, rank_with};

/// Grid points per side.
const STEPS: u32 = 32;
/// Bisection rounds once a change is bracketed.
const ROUNDS: u32 = 24;

/// The winner when criterion `k` weighs `w`.
async fn winner(
    plugin: &ScoringPlugin,
    session: &Session,
    weights: &[f64],
    k: usize,
    w: f64,
) -> Result<usize, AnalysisError> {
    let mut weights = weights.to_vec();
    weights[k] = w;
    let ranked = rank_with(plugin, plugin_matrix(session, &weights)).await?;
    Ok(ranked.first().map_or(0, |r| r.option))
}

/// The nearest weight between `current` and `bound` where the winner is no longer `base`,
/// with the new winner.
async fn search_side(
    plugin: &ScoringPlugin,
    session: &Session,
    weights: &[f64],
    k: usize,
    base: usize,
    bound: f64,
) -> Result<Option<(f64, usize)>, AnalysisError> {
    let current = weights[k];
    if bound == current {
        return Ok(None);
    }
    let mut same = current;
    for step in 1..=STEPS {
        let w = current + (bound - current) * f64::from(step) / f64::from(STEPS);
        let found = winner(plugin, session, weights, k, w).await?;
        if found == base {
            same = w;
            continue;
        }
        // Bracketed between `same` (base wins) and `w` (someone else does).
        let (mut inside, mut outside, mut next) = (same, w, found);
        for _ in 0..ROUNDS {
            let middle = (inside + outside) / 2.0;
            let at = winner(plugin, session, weights, k, middle).await?;
            if at == base {
                inside = middle;
            } else {
                outside = middle;
                next = at;
            }
        }
        return Ok(Some((outside, next)));
    }
    Ok(None)
}

/// Per criterion, the smallest weight change (within the limits) that changes the winner.
pub async fn sensitivity(
    plugin: &ScoringPlugin,
    session: &Session,
    weights: &[f64],
    ranking: &[Ranked],
    limits: &Limits,
) -> Result<Vec<Option<CriticalChange>>, AnalysisError> {
    let Some(base) = ranking.first().map(|r| r.option) else {
        return Ok(Vec::new());
    };
    let mut result = Vec::with_capacity(weights.len());
    for (k, &current) in weights.iter().enumerate() {
        let up = search_side(
            plugin,
            session,
            weights,
            k,
            base,
            limits.max_criterion_weight,
        );
        let up = up.await?;
        let down = search_side(
            plugin,
            session,
            weights,
            k,
            base,
            limits.min_criterion_weight,
        );
        let down = down.await?;
        let best = [up, down]
            .into_iter()
            .flatten()
            .min_by(|a, b| (a.0 - current).abs().total_cmp(&(b.0 - current).abs()));
        result.push(best.map(|(threshold, new_winner)| {
            let delta = threshold - current;
            CriticalChange {
                current,
                threshold,
                delta,
                relative: delta / current,
                new_winner,
            }
        }));
    }
    Ok(result)
}
