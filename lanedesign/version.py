"""lanedesign's version: a leaf module, so that anything may name it without importing the
package front (and everything behind it)."""

__version__ = "0.1.0"
