<?xml version="1.0" encoding="UTF-8"?>
<!--
  The fields the gateway records of each guide of a lot, as one flat element per guide and one
  per item (gateway/tiss/lote.py reads them back). Applied to a guiasTISS element, or to one
  guide. Every attribute is always written, in the order below, empty when the field is absent:
  the reader unpacks them by position. Choices between alternatives (which number, which date,
  defaults) are made in Python, where they are tested; this only finds the texts.

  Paths are those of the official schemas (4.01.00 to 4.03.00), relative to the guide:
    g: t type, p numeroGuiaPrestador, o numeroGuiaOperadora, a dadosAutorizacao's
       numeroGuiaOperadora, c numeroCarteira, r atendimentoRN, d date, v value,
       n the registroANS of the operator the guide bills (in its cabecalho; Odonto's on itself)
    i: s sequencialItem, e dataExecucao, f dataRealizacao, t codigoTabela,
       c codigoProcedimento, x descricaoProcedimento, q quantidadeExecutada, n qtdProc,
       v valorTotal, w valorProc (Consulta: its one procedimento, valorProcedimento in v)
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:ans="http://www.ans.gov.br/padroes/tiss/schemas"
    exclude-result-prefixes="ans">

  <xsl:template match="/">
    <lot><xsl:apply-templates select="*"/></lot>
  </xsl:template>

  <xsl:template match="ans:guiasTISS">
    <xsl:apply-templates select="*"/>
  </xsl:template>

  <xsl:template match="ans:guiaConsulta">
    <xsl:call-template name="guide">
      <xsl:with-param name="numero" select="ans:cabecalhoConsulta/ans:numeroGuiaPrestador"/>
      <xsl:with-param name="beneficiario" select="ans:dadosBeneficiario"/>
      <xsl:with-param name="date" select="ans:dadosAtendimento/ans:dataAtendimento"/>
      <xsl:with-param name="value"
          select="ans:dadosAtendimento/ans:procedimento/ans:valorProcedimento"/>
      <xsl:with-param name="items" select="(ans:dadosAtendimento/ans:procedimento)[1]"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="ans:guiaSP-SADT">
    <xsl:call-template name="guide">
      <xsl:with-param name="numero" select="ans:cabecalhoGuia/ans:numeroGuiaPrestador"/>
      <xsl:with-param name="beneficiario" select="ans:dadosBeneficiario"/>
      <xsl:with-param name="date" select="(.//ans:dataExecucao)[1]"/>
      <xsl:with-param name="value" select="ans:valorTotal/ans:valorTotalGeral"/>
      <xsl:with-param name="items"
          select="ans:procedimentosExecutados/ans:procedimentoExecutado"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="ans:guiaResumoInternacao">
    <xsl:call-template name="guide">
      <xsl:with-param name="numero" select="ans:cabecalhoGuia/ans:numeroGuiaPrestador"/>
      <xsl:with-param name="beneficiario" select="ans:dadosBeneficiario"/>
      <xsl:with-param name="date" select="(.//ans:dataInicioFaturamento)[1]"/>
      <xsl:with-param name="value" select="ans:valorTotal/ans:valorTotalGeral"/>
      <xsl:with-param name="items"
          select="ans:procedimentosExecutados/ans:procedimentoExecutado"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="ans:guiaHonorarios">
    <xsl:call-template name="guide">
      <xsl:with-param name="numero" select="ans:cabecalhoGuia/ans:numeroGuiaPrestador"/>
      <xsl:with-param name="beneficiario" select="ans:beneficiario"/>
      <xsl:with-param name="date" select="(.//ans:dataInicioFaturamento)[1]"/>
      <xsl:with-param name="value" select="ans:valorTotalHonorarios"/>
      <xsl:with-param name="items"
          select="ans:procedimentosRealizados/ans:procedimentoRealizado"/>
    </xsl:call-template>
  </xsl:template>

  <!-- cto_guiaOdontologia has no cabecalhoGuia, and each procedimentosExecutados is one item. -->
  <xsl:template match="ans:guiaOdonto">
    <xsl:call-template name="guide">
      <xsl:with-param name="numero" select="ans:numeroGuiaPrestador"/>
      <xsl:with-param name="beneficiario" select="ans:dadosBeneficiario"/>
      <xsl:with-param name="date" select="(.//ans:dataRealizacao)[1]"/>
      <xsl:with-param name="value" select="(.//ans:valorTotalProc)[1]"/>
      <xsl:with-param name="items" select="ans:procedimentosExecutados"/>
    </xsl:call-template>
  </xsl:template>

  <!-- Anything else in guiasTISS (nothing, in a schema-valid lot) is not a guide. -->
  <xsl:template match="*"/>

  <xsl:template name="guide">
    <xsl:param name="numero"/>
    <xsl:param name="beneficiario"/>
    <xsl:param name="date"/>
    <xsl:param name="value"/>
    <xsl:param name="items"/>
    <!-- A guide without the beneficiary's block keeps the card on itself (odontológico). -->
    <xsl:variable name="ben" select="$beneficiario[1] | self::*[not($beneficiario)]"/>
    <g t="{local-name()}" p="{$numero}" o="{ans:numeroGuiaOperadora}"
       a="{ans:dadosAutorizacao/ans:numeroGuiaOperadora}" c="{$ben/ans:numeroCarteira}"
       r="{$ben/ans:atendimentoRN}" d="{$date}" v="{$value}"
       n="{(ans:cabecalhoConsulta | ans:cabecalhoGuia)/ans:registroANS | ans:registroANS}">
      <xsl:for-each select="$items">
        <!-- The procedure's codes: in procedimento, else in procSolic; Consulta's item is the
             procedimento itself. -->
        <xsl:variable name="code"
            select="ans:procedimento[1] | ans:procSolic[1][not(../ans:procedimento)]
                    | self::ans:procedimento"/>
        <i s="{ans:sequencialItem}" e="{ans:dataExecucao}" f="{ans:dataRealizacao}"
           t="{$code/ans:codigoTabela}" c="{$code/ans:codigoProcedimento}"
           x="{$code/ans:descricaoProcedimento}" q="{ans:quantidadeExecutada}"
           n="{ans:qtdProc}" v="{ans:valorTotal | ans:valorProcedimento}" w="{ans:valorProc}"/>
      </xsl:for-each>
    </g>
  </xsl:template>
</xsl:stylesheet>
