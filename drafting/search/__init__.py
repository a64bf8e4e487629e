"""Full-text search pages."""
