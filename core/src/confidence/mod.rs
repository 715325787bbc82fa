//! Confidence in a recommendation: how sure the server may be that the option it recommends
//! is the best, and which model calls would make it surer.
//!
//! Every option is scored against every weighted criterion by LLM judges, one batched call
//! per criterion listing several options. Those judgments are noisy (the same judge scores
//! the same cell differently from run to run), position-biased (the first listed option
//! scores higher, the last lower) and each model leans its own way. A ranking computed from
//! one pass of such scores is often wrong when options are close, and nothing in the bare
//! ranking says so. This module turns the judgments into a recommendation with a probability
//! attached, and plans further calls only where they can change the answer.
//!
//! Everything here is pure and synchronous: no I/O, no clock, no global randomness. The Monte
//! Carlo and the call orders are seeded, so the same evidence always gives the same numbers.
//!
//! # The pipeline
//!
//! 1. [`order`]: each batched call lists its options in an order drawn from (decision,
//!    criterion, round); successive rounds of a criterion mirror and rotate it so that each
//!    option visits every place evenly and a linear position bias cancels every second round.
//! 2. [`evidence`]: every judgment is kept with its judge and its place in the list.
//! 3. [`position`]: the position effect (points per unit of place, +1 first to −1 last) is
//!    estimated from the same judge scoring the same cell at different places, shrunk towards
//!    0, and removed from every score.
//! 4. [`estimate`]: a judge's value for a cell is the mean of its corrected scores, read as a
//!    censored normal where a score sits at 1 or 10 (a 10 says "at least 9.5"), so the caps of
//!    the scale do not compress the differences between strong options.
//! 5. [`noise`]: the noise of one judgment, σ_w, pooled over all cells from replicates (a prior
//!    of 1.5 points stands in until there are six degrees of freedom), and for a panel the
//!    spread of the judges' leanings, σ_b, which replicates cannot average out.
//! 6. [`summary`]: each cell's value (the mean over its judges) and standard error
//!    `√(σ_b²/J + σ_w²/(J²)·Σ 1/n_j)`; a person's manual score is exact.
//! 7. [`winner`]: each option's weighted total and standard error; by seeded Monte Carlo,
//!    its probability of being best and its rank interval; the [`Verdict`](winner::Verdict).
//! 8. [`plan`]: the next round of calls (which criteria, which judge, which options), or why to
//!    stop: target reached, budget spent, or the leader and a rival indistinguishable within
//!    the noise.
//!
//! [`session::SessionEvidence`] reads a stored session's judgments as evidence;
//! [`assess::Assessment`] runs steps 3 to 7 in one pass; [`alpha`] measures the agreement of
//! the judgments (Krippendorff's alpha, interval metric) for reporting. Behind the `sim`
//! feature, `simulate` plays whole evaluations against simulated judges.
//!
//! [`acceptability`] widens the question when the weights themselves are uncertain: each
//! option's share of every rank (SMAA-2) with the weights anywhere in given ranges and the
//! cells as uncertain as their standard errors say.
//!
//! # How to read the numbers
//!
//! (Names as in [`assess::Assessment`]; the server's results show them as `probability_best`,
//! `rank_interval`, `confidence.noise` and `confidence.agreement.alpha`.)
//!
//! - **`probability_best`** is the probability that the option's true total is the highest,
//!   *given the model*: cells independent, judgment noise Gaussian around the judge's own
//!   average for the cell, position effect linear in the place, noise shared by all cells of a
//!   decision. It is not a vote share. With several judges, "true" means what the panel would
//!   say on average with unlimited calls; with one judge, what that judge would say — its own
//!   leaning is invisible to it.
//! - **`clear_winner`** means the winner's probability reached the target (0.9 by default).
//!   On simulated decisions (see below) such declarations were right about 95 % of the time:
//!   a winner declared at 0.9 is wrong about one time in ten to twenty, not never.
//! - **`contenders`** are the options with at least a 5 % chance of being best. When there
//!   are several and no clear winner, the honest recommendation is "one of these".
//! - **`rank_interval`**: the central 90 % of the option's rank over the draws; (1, 1) is
//!   certainly first, (1, 3) could be anywhere in the top three.
//! - **`standard_error`** of a total is on the 1–10 scale: two totals closer than about two
//!   standard errors of their difference are not reliably ordered.
//! - **`noise.within_sd`** near 1.5 is typical of an LLM judge; near 0, a judge that repeats
//!   itself exactly (then a single pass is already certain). **`noise.between_sd`** is the
//!   panel's disagreement that no number of replicates removes.
//! - **`reliability`** (Krippendorff's alpha over cells): ≥ 0.8 reliable, 0.667–0.8 tentative,
//!   below 0.667 the judgments agree too little to rank on without more evidence.
//! - **Stop reasons**: *target reached* (clear winner), *budget spent* (read the probability
//!   and the contenders), *indistinguishable* (the remaining budget could not separate the
//!   leader from a rival at the target confidence even if their true gap were one standard
//!   error larger than estimated: treat them as tied within the noise).
//!
//! # Assumptions and limits
//!
//! - Noise is independent across calls and across options within a call; a call-wide mood
//!   would be shared by the options listed together and is not modelled.
//! - The position effect is one linear term for the whole decision; a judge whose bias is
//!   concentrated on the first place only is corrected on average, and the balanced orders
//!   cancel what the linear term misses.
//! - Criterion weights are taken as given: the uncertainty is that of the scores. Weight
//!   sensitivity is the domain's [`sensitivity`](crate::domain::sensitivity); weights known
//!   only as ranges are [`acceptability`]'s.
//! - The probabilities use a flat prior on each option's total: with very few samples and
//!   options bunched together they lean towards overconfidence (the winner's curse); after
//!   the first planned round this is small.
//!
//! # What the simulations show
//!
//! 6 options × 4 criteria, true scores drawn uniformly from the integers 1–10 and weights
//! from 0.5 to 3, a judge with Gaussian noise 1.5 and a position bias of ±1 (the `simulate`
//! module): with at most 18 calls (a call is one batch for one criterion)
//! one judge picks the true best about 82 % of the time using 13 calls on average, declares a
//! clear winner in 56 % of decisions and is then right 95 % of the time, with a Brier score
//! of 0.11 for the winner's probability. That is close to what 18 calls allow at all: an
//! oracle that knows the two best options and spends every call on their cells picks the
//! better one 86 % of the time. A panel of three judges, each with its own leaning of up to
//! ±1 point per cell, reaches about 85 % with at most 36 calls (Brier 0.09); a judge without
//! noise or bias is always right and declares a clear winner (except on an exact tie) within
//! 12 calls.

pub mod acceptability;
pub mod alpha;
pub mod assess;
pub mod estimate;
pub mod evidence;
pub mod noise;
mod normal;
pub mod order;
pub mod plan;
pub mod position;
pub mod rng;
pub mod session;
pub mod summary;
pub mod winner;

#[cfg(any(test, feature = "sim"))]
pub mod simulate;

#[cfg(test)]
mod quality;
