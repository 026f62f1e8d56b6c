"""The dataset that goes out: export (FAF and Emotion-FAN layouts), the train/test split, verify."""
