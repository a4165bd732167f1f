import ClasTensor
