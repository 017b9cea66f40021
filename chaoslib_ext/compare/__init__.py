"""Release comparison: two sides (runs, or blocks of runs), a bootstrap interval per metric and phase, a verdict."""
