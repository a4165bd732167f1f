// ClasData
