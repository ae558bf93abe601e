"""Neural-network validation path: real networks trained with the SSL losses, probed against the theory.

Modules, by what they compute:

* :mod:`landscape.nn.models`   linear model, MLP, small ConvNet, ResNet-18 (CIFAR) as plain pytrees, encoder/projector split
* :mod:`landscape.nn.augment`  jittable augmentations: Gaussian noise σ², SimCLR family with one strength knob
* :mod:`landscape.nn.data`     synthetic Gaussians / mixtures / manifold, sklearn digits, CIFAR-10 binary format
* :mod:`landscape.nn.train`    optax training step, data parallelism over a device mesh, checkpoints
* :mod:`landscape.nn.probe`    last-layer landscape slices, spectra, linear-theory prediction from
                               the frozen encoder's features, encoder vs projector metrics

See ``landscape/nn/README.md`` for the choice of network library.
"""
