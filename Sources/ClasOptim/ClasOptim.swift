// ClasOptim
