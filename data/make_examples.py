"""Regenerate the bundled example datasets with fixed seeds: ``python data/make_examples.py``."""

from pathlib import Path

from bioseq.data.synthetic import cterm_protein, motif_dna, write_fasta

HERE = Path(__file__).parent

if __name__ == "__main__":
    write_fasta(HERE / "dna_motif.train.fa", motif_dna(1600, seed=1, ambiguous=0.002))
    write_fasta(HERE / "dna_motif.test.fa", motif_dna(400, seed=2))
    write_fasta(HERE / "protein_kdel.train.fa", cterm_protein(1600, seed=3))
    write_fasta(HERE / "protein_kdel.test.fa", cterm_protein(400, seed=4))
    print("wrote", ", ".join(sorted(p.name for p in HERE.glob("*.fa"))))
