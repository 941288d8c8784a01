"""Alerting: events worth telling people about, routed by owner team, sent once each."""
