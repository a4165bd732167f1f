// ClasNN
