"""Configuration-driven multi-database routing for Django."""
