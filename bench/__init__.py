"""Benchmarks behind `reel bench ...`: measured figures for the README, never pass/fail tests."""
