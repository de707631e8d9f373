"""The incident model, the visibility rules, and one formatter per medium."""
