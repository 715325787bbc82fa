//! [`AnalysisCache`]: the last analysis of each session, reused while nothing it depends on
//! has changed.
//!
//! Reading a matrix, its sensitivity or an export is the most frequent thing an assistant
//! does, and each read would otherwise run the strategy plugin in a fresh sandbox (and, for
//! strategies without a closed form, dozens of times for the sensitivity search). A ranking is
//! a pure function of the strategy and the matrix the plugin is given (names, weights, cell
//! scores), so the cache keys on exactly that input: any change to it, from any tool, misses;
//! an edit that cannot change the ranking (a description, a justification) hits. There is no
//! invalidation to forget.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

use super::Analysis;
use crate::plugins::bindings::scoring_export::Matrix;

/// What an analysis was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisInput {
    /// The strategy plugin's id.
    pub strategy: String,
    /// The matrix it ranked.
    pub matrix: Matrix,
}

/// The latest analysis per session, at most `capacity` sessions.
pub struct AnalysisCache {
    entries: Mutex<HashMap<String, (AnalysisInput, Arc<Analysis>)>>,
    capacity: usize,
}

impl AnalysisCache {
    /// A cache for up to `capacity` sessions (the session limit is the natural bound).
    pub fn new(capacity: usize) -> AnalysisCache {
        AnalysisCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The analysis of session `id` if it was computed from `input`.
    pub fn get(&self, id: &str, input: &AnalysisInput) -> Option<Arc<Analysis>> {
        let entries = self.entries.lock();
        entries
            .get(id)
            .filter(|(cached, _)| cached == input)
            .map(|(_, analysis)| analysis.clone())
    }

    /// Remembers `analysis` as session `id`'s, computed from `input`.
    pub fn put(&self, id: &str, input: AnalysisInput, analysis: Arc<Analysis>) {
        let mut entries = self.entries.lock();
        if entries.len() >= self.capacity && !entries.contains_key(id) {
            // Any entry will do: a session that loses its entry pays one recomputation.
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        entries.insert(id.to_owned(), (input, analysis));
    }

    /// Forgets session `id` (removed or cleared).
    pub fn forget(&self, id: &str) {
        self.entries.lock().remove(id);
    }

    /// Forgets every session.
    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}
