"""Evaluation by generation: decoding settings, generation backends, the evaluator, metrics, results writer."""
