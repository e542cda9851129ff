"""Tests of the live funnel: attribution, impressions, insights."""
