//! npvrisk: a Monte Carlo sensitivity engine for public-sector cost-benefit (NPV) models.
