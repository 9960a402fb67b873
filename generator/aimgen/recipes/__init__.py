"""Recipes: per-model serving profiles, loaded with line numbers and checked against schemas/recipe.schema.json."""
