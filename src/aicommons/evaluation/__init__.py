"""Evaluation harness: tasks, data loaders, scorers, a resumable runner and result export.

Everything reaches models through the `Engine` contract only (``generate`` and
``loglikelihood``), so the same task runs against llama.cpp, an upstream server or any plugin.
"""
