// A separate bundle (several MB), loaded by the preview only when a note has a diagram.
import mermaid from 'mermaid';

(globalThis as unknown as { mlnMermaid: typeof mermaid }).mlnMermaid = mermaid;
