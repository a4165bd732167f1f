// ClasConfig
