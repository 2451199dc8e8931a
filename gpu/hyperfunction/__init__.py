"""Hyperfunction weight codec: winding, sheared-lattice and RTN methods, safetensors container.

Nothing is imported here, so ``import gpu.hyperfunction`` works without torch; see README.md.
"""
