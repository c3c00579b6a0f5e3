"""Evaluation: the BFCL AST checker (:mod:`.bfcl_ast`), the paper's F1 scores (:mod:`.f1`), and the
runner behind ``hammer eval`` (:mod:`.runner`: cases -> predictions -> verdicts -> summary)."""
