"""Regenerate the bundled example datasets with fixed seeds: ``python data/make_examples.py``."""

from pathlib import Path

from bioseq.data.synthetic import cterm_protein, motif_dna, transmembrane_protein, write_fasta, write_three_line

HERE = Path(__file__).parent

if __name__ == "__main__":
    write_fasta(HERE / "dna_motif.train.fa", motif_dna(1600, seed=1, ambiguous=0.002))
    write_fasta(HERE / "dna_motif.test.fa", motif_dna(400, seed=2))
    write_fasta(HERE / "protein_kdel.train.fa", cterm_protein(1600, seed=3))
    write_fasta(HERE / "protein_kdel.test.fa", cterm_protein(400, seed=4))
    # per-position labels (three-line FASTA): M in transmembrane-like hydrophobic segments, O elsewhere
    write_three_line(HERE / "protein_tm.train.fa", transmembrane_protein(600, min_len=40, max_len=160, seed=5))
    write_three_line(HERE / "protein_tm.test.fa", transmembrane_protein(200, min_len=40, max_len=160, seed=6))
    print("wrote", ", ".join(sorted(p.name for p in HERE.glob("*.fa"))))
