// ClasExport
