"""Data & embeddings: upload a table or open a demo, embed it, build the k-NN graph, look at the map."""

import streamlit as st

from epoxy_core.data import list_demos, load_demo
from epoxy_core.embed import DEFAULT_MODEL, EmbeddingSource
from epoxy_studio import engine as engines
from epoxy_studio import lfset, project, render, state, uploads
from epoxy_studio.views import data_preview
from epoxy_studio.views import map as data_map
from epoxy_studio.widgets import dataset_spec, embedder

st.title("Data & embeddings")
state.show_flashes()

settings = project.settings()
upload_tab, demo_tab = st.tabs(["Upload a file", "Open a demo"])
with upload_tab:
    upload = st.file_uploader(
        "CSV, Parquet or JSONL", type=["csv", "tsv", "parquet", "jsonl", "ndjson", "json"], key="data.upload"
    )
    if upload is not None:
        try:
            table = uploads.table(upload)
            spec = dataset_spec.spec_form(table)
            if spec is not None and project.replace_dataset(table, spec, upload.name):
                st.rerun()
        except ValueError as error:  # a bad file or spec: the previous dataset stays
            render.message("error", error)
with demo_tab:
    demos = list_demos()
    name = st.selectbox("Demo", list(demos), format_func=lambda n: f"{n} — {demos[n]}", key="data.demo")
    if st.button("Open demo (replaces this project's data and LFs)", key="data.open_demo"):
        demo = load_demo(name)
        items = lfset.parse(demo.lfs or [])
        if demo.embedding != "text":
            source = EmbeddingSource.columns_source(demo.embedding)
        elif settings.embedding.kind != "model":  # the last dataset's columns or upload do not fit this one
            source = EmbeddingSource.model_source(DEFAULT_MODEL)
        else:
            source = settings.embedding
        if project.replace_dataset(demo.df, demo.spec, f"demo: {name}", lfs=items, embedding=source):
            st.rerun()

dataset, engine, settings = project.dataset(), project.engine(), project.settings()
if dataset is None:
    st.info("No data yet in this project: upload a file or open a demo above.")
    st.stop()
data_preview.summary(dataset, project.dataset_source())

st.subheader("Embeddings and neighbour graph")
choice = embedder.embedder_picker(dataset.df, settings.embedding)
n_neighbors = st.slider("Neighbours per row", 5, 50, int(settings.n_neighbors), key="data.n_neighbors")
if st.button("Build embeddings and graph", type="primary", key="data.build"):
    try:
        source = choice.source
        if choice.npy is not None:
            source = engines.save_uploaded_embeddings(choice.npy, len(dataset))
        if source is None:
            raise ValueError(choice.missing or "Choose an embedder.")
        bar = st.progress(0.0, text="Starting…")
        engine.build(source, n_neighbors, lambda fraction, text: bar.progress(fraction, text=text))
        project.update_settings(embedding=source, graph_built=True, n_neighbors=n_neighbors)
        settings = project.settings()
    except ValueError as error:
        render.message("error", error)

if not settings.graph_built:
    st.info("Build the embeddings and the graph to extend labeling functions (step 3).")
    st.stop()
st.success(f"Graph built with {render.md(settings.embedding.label)}, {settings.n_neighbors} neighbours per row.")

st.subheader("Map of the rows")
try:
    with st.spinner("Loading the embeddings and the neighbour graph…"):
        _, graph = engine.graph(settings.embedding, settings.n_neighbors)
    graph_key = f"{engine.source_key(settings.embedding)}-{settings.n_neighbors}"  # what the graph is made of
except ValueError as error:  # e.g. an uploaded .npy that is gone from the data dir
    render.message("error", error)
    st.stop()
lfs = engine.active(project.lfs())
data_map.data_map(
    dataset,
    graph_key,
    graph,
    results=(lambda: engine.results(lfs)) if lfs else None,
    lf_names=[lf.name for lf in lfs],
    key="data.map",
)
