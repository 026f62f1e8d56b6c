"""Acting-skill ratings (FEASSTM-ASA) and agreement statistics, with their report."""
