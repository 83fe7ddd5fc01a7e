"""Pictures of a circuit with every value and gradient (SVG, DOT, Mermaid), and the
chain rule explained edge by edge. `engine.draw` is the public entry point."""
