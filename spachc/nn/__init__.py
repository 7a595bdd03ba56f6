"""The torch half of spachc: everything here may import torch."""
