// ClasProto
