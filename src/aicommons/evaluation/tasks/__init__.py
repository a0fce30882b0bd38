"""Evaluation tasks: each turns documents into engine requests and scores the responses."""
