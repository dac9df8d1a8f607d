"""voicegraph.nodes.llm"""
