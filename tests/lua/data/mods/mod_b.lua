loaded_b = (loaded_b or 0) + 1
