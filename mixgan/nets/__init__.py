"""Building blocks of every model: priors p(z), heads z -> h, bodies h -> x, discriminators."""
from .bodies import DCGANBody, DCGANDisc, MLPBody, MLPDisc
from .heads import GatedHead, Linear, MultiHead, SoftMixture, SoftTree, mix_linear
from .priors import GaussianMixture, Normal, truncate
