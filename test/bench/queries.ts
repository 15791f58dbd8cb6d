/**
 * The operation the gateway benchmarks run: an image's lineage through four subgraphs (omero,
 * workflows, imports, forms) in one request — the run that produced it, its inputs, their import
 * orders and the form submissions on their datasets.
 */
export const GATEWAY_QUERY = `query Lineage($id: ID!) {
  image(id: $id) {
    name
    producedBy {
      id name status
      inputs {
        id name
        importOrder { uuid stage files }
        datasets { name formSubmissions { changedAt version { timestamp } } }
      }
    }
  }
}`;
