"""Model openness: Model Openness Framework classes, the OSAI index and the OSI definition."""
