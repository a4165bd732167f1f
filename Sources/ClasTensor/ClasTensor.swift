// ClasTensor
