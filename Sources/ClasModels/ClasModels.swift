// ClasModels
