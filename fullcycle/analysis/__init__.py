"""Error analysis: confusion, slices, highest-loss examples, suspected label errors."""
