"""End-to-end scripts built only from the stages below (:mod:`.quickstart`); nothing imports a recipe."""
