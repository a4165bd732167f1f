// ClasEngine
