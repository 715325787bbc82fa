//! [`ScoreMatrix`]: the numbers a ranking is computed from, detached from names and cells.

/// Options × criteria scores, row-major, with the criteria weights. `None` is a cell that does
/// not count: abstained, failed or not evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    /// One weight per criterion.
    pub weights: Vec<f64>,
    /// `cells[o * weights.len() + c]`.
    pub cells: Vec<Option<f64>>,
}

impl ScoreMatrix {
    /// Number of options.
    pub fn options(&self) -> usize {
        self.cells
            .len()
            .checked_div(self.weights.len())
            .unwrap_or(0)
    }

    /// Number of criteria.
    pub fn criteria(&self) -> usize {
        self.weights.len()
    }

    /// The cell of option `o` on criterion `c`.
    pub fn cell(&self, o: usize, c: usize) -> Option<f64> {
        self.cells
            .get(o * self.weights.len() + c)
            .copied()
            .flatten()
    }

    /// Whether any cell holds a score.
    pub fn any_scored(&self) -> bool {
        self.cells.iter().any(Option::is_some)
    }
}
